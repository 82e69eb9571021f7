"""The service's safety (issue #5): the bearer token, the upload size limit (413), and zip uploads checked
for path traversal, symlinks, decompression bombs and things that are not zips at all."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from fastapi.testclient import TestClient

from api.service import Settings, create_app
from api.service.uploads import UploadRejected, ZipLimits, extract_zip

from builders import region, scenario_dict, school, student, write_csv_folder

TOKEN = "s3cret-token"


def small_folder(tmp_path):
    data = scenario_dict(regions=[region("R1")], schools=[school("A", 1)],
                         students=[student("s1", 90, ["A"]), student("s2", 80, ["A"])])
    return write_csv_folder(data, tmp_path / "city")


def zip_of(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def folder_members(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def client(tmp_path_factory, backend):
    settings = Settings(data_dir=tmp_path_factory.mktemp("safety"), max_upload_bytes=200_000,
                        max_unzipped_bytes=5_000_000, max_zip_members=20)
    with TestClient(create_app(settings)) as c:
        yield c


def post_zip(client, body: bytes, name: str = "s.zip"):
    return client.post("/scenarios", files={"file": (name, body, "application/zip")})


# The token ---------------------------------------------------------------------------------------------

def test_every_request_needs_the_token_when_one_is_set(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, api_token=TOKEN))) as c:
        for method, path in (("get", "/scenarios"), ("get", "/health"), ("get", "/runs/x"), ("get", "/openapi.json"),
                             ("get", "/docs"), ("post", "/scenarios"), ("post", "/scenarios/jiaozuo-2022/runs")):
            r = getattr(c, method)(path)
            assert r.status_code == 401, (method, path)
            assert r.headers["www-authenticate"] == "Bearer" and "token" in r.json()["detail"]
        assert c.get("/scenarios", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/scenarios", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/scenarios", headers=good).status_code == 200
        assert c.get("/openapi.json", headers=good).json()["components"]["securitySchemes"]
        assert c.get("/docs", headers=good).status_code == 200


def test_no_token_set_means_open(client):
    assert client.get("/scenarios").status_code == 200


def test_settings_bind_loopback_by_default(monkeypatch, tmp_path, backend):
    monkeypatch.delenv("ZHAOSHENG_HOST", raising=False)
    monkeypatch.setenv("ZHAOSHENG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ZHAOSHENG_API_TOKEN", "from-env")
    monkeypatch.setenv("ZHAOSHENG_MAX_UPLOAD_BYTES", "1234")
    s = Settings()
    assert s.host == "127.0.0.1" and s.token == "from-env" and s.max_upload_bytes == 1234
    if backend == "sqlite":  # on PostgreSQL the tests give each data directory a database (conftest.backend)
        assert s.db_url == f"sqlite:///{(tmp_path / 'zhaosheng.db').resolve()}"


# Size ----------------------------------------------------------------------------------------------------

def test_an_upload_over_the_limit_is_413(client):
    r = post_zip(client, b"\0" * 300_000)
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_a_chunked_upload_over_the_limit_is_413(client):
    def chunks():
        for _ in range(40):
            yield b"{" + b" " * 9_999

    r = client.post("/scenarios", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_chunked_multipart_upload_over_the_limit_is_413(client):
    boundary = "xyz"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode()

    def chunks():
        yield head
        for _ in range(40):
            yield b"\0" * 10_000

    r = client.post("/scenarios", content=chunks(),
                    headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413


def test_every_upload_route_is_limited(client):
    head = (b"--xyz\r\nContent-Disposition: form-data; name=\"result\"; filename=\"a.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\n")

    def chunks():
        yield head
        for _ in range(30):
            yield b"1" * 10_000

    r = client.post("/scenarios/jiaozuo-2022/audits", content=chunks(),
                    headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413
    r = client.post("/scenarios/jiaozuo-2022/runs", content=b"{" + b" " * 300_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_zip_unpacking_beyond_the_limit_is_413(client):
    # a decompression bomb: 40 MB of zeros in a few dozen KB
    bomb = zip_of({"students.csv": b"0" * 40_000_000})
    assert len(bomb) < 200_000
    r = post_zip(client, bomb)
    assert r.status_code == 413 and "bomb" in r.json()["detail"]
    # no single member is suspicious, but all of them together are too much
    many = zip_of({f"part{i}.csv": bytes(range(256)) * 4_000 for i in range(6)})
    r = post_zip(client, many)
    assert r.status_code == 413 and "unpacks to more than" in r.json()["detail"]


def test_a_workbook_is_checked_like_a_zip(client):
    bomb = zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                   "xl/worksheets/sheet1.xml": b" " * 40_000_000})
    r = client.post("/scenarios", files={"file": ("plan.xlsx", bomb, "application/octet-stream")})
    assert r.status_code == 413


def test_too_many_members_is_413(client):
    r = post_zip(client, zip_of({f"f{i}.csv": b"a" for i in range(25)}))
    assert r.status_code == 413 and "members" in r.json()["detail"]


# Unsafe or broken zips -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil.csv", "city/../../evil.csv", "/etc/evil.csv", "..\\evil.csv",
                                  "C:/evil.csv"])
def test_path_traversal_is_refused(client, tmp_path, name):
    members = folder_members(small_folder(tmp_path))
    members[name] = b"pwned"
    r = post_zip(client, zip_of(members))
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["clause"] == "upload" and problem["file"] == "s.zip"
    assert not (tmp_path / "evil.csv").exists()
    data_dir = client.app.state.settings.data_dir
    assert not list(data_dir.rglob("evil.csv"))


def test_a_symlink_member_is_refused(client, tmp_path):
    members = folder_members(small_folder(tmp_path))
    members["students.csv"] = b"/etc/passwd"
    r = post_zip(client, zip_of(members, symlinks=("students.csv",)))
    assert r.status_code == 422 and "symbolic link" in r.json()["detail"]


@pytest.mark.parametrize("name, body", [("s.zip", b"this is not a zip"), ("s.zip", b"PK\x03\x04broken"),
                                        ("plan.xlsx", b"\x00\x01\x02"), ("notes.txt", b"hello")])
def test_not_a_zip_is_422(client, name, body):
    r = client.post("/scenarios", files={"file": (name, body, "application/octet-stream")})
    assert r.status_code == 422
    assert r.json()["problems"][0]["file"] == name


def test_a_truncated_zip_is_422(client, tmp_path):
    body = zip_of(folder_members(small_folder(tmp_path)))
    r = post_zip(client, body[: len(body) // 2])
    assert r.status_code == 422


def test_macos_debris_and_a_top_folder_are_fine(client, tmp_path):
    members = {f"city/{k}": v for k, v in folder_members(small_folder(tmp_path)).items()}
    members["__MACOSX/city/._students.csv"] = b"\0\5\26\7"
    members["city/.DS_Store"] = b"\0"
    r = post_zip(client, zip_of(members))
    assert r.status_code == 201, r.text
    assert r.json()["info"]["counts"]["students"] == 2


def test_extraction_stops_at_the_limit_whatever_the_zip_declares(tmp_path, monkeypatch):
    """Declared sizes are not trusted: a member never writes more than it declares, and is refused."""
    body = zip_of({"a.csv": b"x" * 10_000})
    (tmp_path / "a.zip").write_bytes(body)
    real = zipfile.ZipFile.infolist

    def lying(self):
        infos = real(self)
        for info in infos:
            info.file_size = 10  # as a forged header would claim
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying)
    with pytest.raises(UploadRejected) as info:
        extract_zip(tmp_path / "a.zip", tmp_path / "out", ZipLimits(1_000_000, 10, 200.0), "a.zip")
    assert info.value.status in (413, 422)
    written = tmp_path / "out" / "a.csv"
    assert not written.exists() or written.stat().st_size <= 10
