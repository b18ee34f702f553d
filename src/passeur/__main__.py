from passeur.cli.main import run

run()
