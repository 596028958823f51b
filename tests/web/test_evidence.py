"""Evidence files: accepted by content, limited in size, stored under random names, served only to
those who may see the complaint."""
from __future__ import annotations

import io
import zlib
from dataclasses import replace

from engine.db import UnitOfWork
from engine.models import Complaint, Evidence
from tests.lifecycle import INTAKE, start, step
from tests.web.conftest import make_app, text_of


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ZIP = b"PK\x03\x04" + b"\x00" * 60


def _upload(client, cid, *files):
    return client.post(f"/complaints/{cid}/evidence", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(content), name) for name, content in files]})


def _rows(system) -> list[Evidence]:
    with UnitOfWork(system.db, write=False) as uow:
        return list(uow.session.query(Evidence).order_by(Evidence.uploaded_at))


def test_upload_on_the_complaint_page_and_download(system, login):
    cid = start(system).complaint_id
    agent = login("agent1")
    chat = "聊天记录：顾客说包装破损。\n".encode()
    response = _upload(agent, cid, ("破损.png", png()), ("合同.pdf", PDF), ("chat.txt", chat))
    assert response.status_code == 302
    rows = _rows(system)
    assert [(r.original_name, r.kind, r.complaint_id) for r in rows] == [
        ("破损.png", "png", cid), ("合同.pdf", "pdf", cid), ("chat.txt", "txt", cid)]
    stored = system.settings.instance_dir / "evidence" / rows[0].id
    assert stored.read_bytes() == png() and len(rows[0].id) == 32
    page = text_of(agent.get(f"/complaints/{cid}"))
    assert "破损.png" in page and "添加了证据" in page
    download = agent.get(f"/evidence/{rows[0].id}")
    assert download.status_code == 200 and download.data == png()
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert agent.get(f"/evidence/{rows[2].id}").headers["Content-Type"].startswith("text/plain")


def test_type_is_decided_by_content_not_by_name(system, login):
    cid = start(system).complaint_id
    agent = login("agent1")
    response = _upload(agent, cid, ("photo.jpg", ZIP), ("ok.png", png()))
    html = text_of(response)
    assert response.status_code == 422
    assert "photo.jpg：不接受此类文件" in html
    assert _rows(system) == []  # one bad file refuses the whole upload
    renamed = _upload(agent, cid, ("scan.txt", png()))
    assert renamed.status_code == 302 and _rows(system)[0].kind == "png"


def test_size_limit(system, login):
    system.settings = replace(system.settings, evidence_max_bytes=1000)
    client = make_app(system).test_client()
    client.post("/login", data={"username": "agent1", "password": "demo-pass-2026"})
    cid = start(system).complaint_id
    response = _upload(client, cid, ("big.pdf", PDF + b"0" * 1000))
    assert response.status_code == 422 and "big.pdf：文件超过 1000 B" in text_of(response)
    assert _upload(client, cid, ("empty.txt", b"")).status_code == 422
    assert _rows(system) == []
    assert _upload(client, cid, ("small.pdf", PDF)).status_code == 302


def test_evidence_is_served_only_to_those_who_may_see_the_complaint(system, login):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")  # routed to logistics
    agent = login("agent1")
    _upload(agent, cid, ("a.pdf", PDF))
    evidence_id = _rows(system)[0].id
    assert login("head_quality").get(f"/evidence/{evidence_id}").status_code == 403
    assert login("head_logistics").get(f"/evidence/{evidence_id}").status_code == 200
    assert login("gm").get(f"/evidence/{evidence_id}").status_code == 200
    assert _upload(login("head_quality"), cid, ("b.pdf", PDF)).status_code == 403
    assert len(_rows(system)) == 1


def test_intake_with_evidence_keeps_uploads_across_a_failed_submit(system, login):
    agent = login("agent1")
    first = agent.post("/complaints/new", content_type="multipart/form-data",
                       data=dict(INTAKE, customer_name="", evidence=[(io.BytesIO(png()), "照片.png")]))
    html = text_of(first)
    assert first.status_code == 422 and "照片.png" in html
    pending = _rows(system)
    assert len(pending) == 1 and pending[0].complaint_id is None
    assert f'name="evidence" value="{pending[0].id}"' in html
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Complaint).count() == 0
    second = agent.post("/complaints/new", content_type="multipart/form-data",
                        data=dict(INTAKE, evidence=[pending[0].id, (io.BytesIO(PDF), "单据.pdf")]))
    assert second.status_code == 302
    cid = int(second.headers["Location"].rsplit("/", 1)[1])
    rows = _rows(system)
    assert {r.original_name for r in rows} == {"照片.png", "单据.pdf"}
    assert {r.complaint_id for r in rows} == {cid}
    with UnitOfWork(system.db, write=False) as uow:
        assert sorted(uow.session.get(Complaint, cid).variables["evidence"]) == sorted(r.id for r in rows)
    assert "照片.png" in text_of(agent.get(f"/complaints/{cid}"))


def test_someone_elses_pending_upload_cannot_be_attached(system, login):
    agent1, agent2 = login("agent1"), login("agent2")
    agent1.post("/complaints/new", content_type="multipart/form-data",
                data=dict(INTAKE, customer_name="", evidence=[(io.BytesIO(PDF), "x.pdf")]))
    pending = _rows(system)[0]
    response = agent2.post("/complaints/new", data=dict(INTAKE, evidence=[pending.id]))
    assert response.status_code == 422 and "已上传的文件不可用" in text_of(response)
    assert agent2.get(f"/evidence/{pending.id}").status_code == 404
    assert _rows(system)[0].complaint_id is None
