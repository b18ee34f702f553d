"""`passeur keys rotate` while a worker delivers: every secret moves to the new key, and
no export fails for a secret it cannot open, before, during or after the rotation."""

from __future__ import annotations

from pathlib import Path

from passeur.bootstrap import App, build
from passeur.domain.documents import DocumentKind
from passeur.domain.exports import AttemptOutcome, ExportState
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, intake, keys
from passeur.storage import schema
from passeur.storage.secret_box import SecretBox, new_key
from tests.conftest import make_settings
from tests.factories import add_integration, firm, sftp_installation
from tests.integration.processes import spawn_worker, worker_env


def _approve(app: App, partner_id: int, client_ids: list[int], data: bytes, n: int) -> None:
    for i in range(n):
        doc = intake.upload(
            app, partner_id, client_ids[i % len(client_ids)], f"r{i}-{n}.xml", data,
            kind=DocumentKind.PURCHASE_INVOICE,
        )  # fmt: skip
        documents.approve(app, partner_id, doc.id)


def test_a_rotation_under_a_delivering_worker_loses_no_export(
    tmp_path: Path, sftp: SftpSandbox, shared_data: Path
) -> None:
    old, new = new_key(), new_key()
    url = f"sqlite:///{tmp_path / 'passeur.db'}"
    before = build(make_settings(tmp_path / "data", url, secret_keys=old))
    schema.upgrade(before.engine)
    # Every process has been restarted with the new key accepted and sealing ("new,old").
    during = build(make_settings(tmp_path / "data", url, secret_keys=f"{new},{old}"))
    after = build(make_settings(tmp_path / "data", url, secret_keys=new))
    try:
        f = firm(before, n_clients=2)
        ids = [c.id for c in f.clients]
        for client_id in ids:  # an installation each: pacing leaves room for both
            add_integration(
                before, f.partner_id, client_id, sftp_installation(before, f.partner_id, sftp)
            )
        data = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
        _approve(before, f.partner_id, ids, data, 12)
        assert not keys.check(during).clean  # both installations' passwords: the old key

        sftp.faults.write_delay = 0.05  # deliveries go on while the rotation runs
        worker = spawn_worker(worker_env(during), "--drain", "--concurrency", "2")
        rotated = keys.rotate(during)
        assert worker.poll() is None, "the worker finished before the rotation began"
        assert rotated.resealed == 2 and rotated.clean
        _approve(during, f.partner_id, ids, data, 6)  # released after the rotation
        output = worker.communicate(timeout=90)[0]
        assert worker.returncode == 0, output
        # What the first worker left (if it drained before the last approvals) goes too.
        late = spawn_worker(worker_env(during), "--drain")
        assert late.wait(timeout=60) == 0

        found = exports.list_exports(during, f.partner_id)
        assert len(found) == 18
        assert {r["export"].state for r in found} == {ExportState.DELIVERED}
        for row in found:
            _, tries = exports.get(during, f.partner_id, row["export"].id)
            assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED], tries
        # The old key can go: the new one alone opens every secret.
        assert keys.check(after).clean
        assert installations.list_installations(after, f.partner_id)[0].secret_fields
    finally:
        for app in (before, during, after):
            app.close()


def test_check_names_secrets_no_key_opens_and_rotate_leaves_them(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    values = {"base_url": "https://in.example", "signing_secret": "whsec_" + "A" * 32}
    inst = installations.install(app, f.partner_id, "http", "Endpoint", values)
    app.secrets = SecretBox.from_setting(new_key())  # the key it was sealed with is lost
    report = keys.rotate(app)
    assert report.resealed == 0 and report.unopenable == [f"installation {inst.id}"]
    assert not keys.check(app).clean
