from passeur.cli.main import app

app(prog_name="passeur")
