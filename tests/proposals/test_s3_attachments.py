"""With S3 storage, attachments go to the bucket and downloads are short-lived presigned URLs."""

from __future__ import annotations

import io
import urllib.request

import boto3

from center import create_app
from tests.conftest import _test_settings
from tests.world import PASSWORD, TINY_PNG, World


def test_an_attachment_round_trips_through_s3_with_a_presigned_download(
        tmp_root, s3_endpoint: str, s3_bucket: str, world: World) -> None:
    app = create_app(_test_settings(tmp_root, STORAGE_URL=f"s3://{s3_bucket}/center",
                                    S3_ENDPOINT_URL=s3_endpoint))
    client = app.test_client()
    client.post("/login", data={"email": world.a.emails["applicant"], "password": PASSWORD})
    base = f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}"
    response = client.post(f"{base}/edit/attachments",
                           data={"kind": "cv", "file": (io.BytesIO(TINY_PNG), "photo.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 302

    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint)
            .list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("center/t")

    page = client.get(f"{base}/edit/attachments").get_data(as_text=True)
    link = page.split(f'href="{base}/files/')[-1].split('"')[0]
    download = client.get(f"{base}/files/{link}")
    assert download.status_code == 302
    presigned = download.headers["Location"]
    assert presigned.startswith(s3_endpoint) and "Signature" in presigned
    with urllib.request.urlopen(presigned) as fetched:  # noqa: S310 - loopback test endpoint
        assert fetched.read() == TINY_PNG
        assert "photo.png" in fetched.headers["Content-Disposition"]


def test_another_applicant_cannot_download_it(client, world: World, login) -> None:
    login(world.b.emails["applicant"])
    url = (f"/{world.a.slug}/proposals/{world.a.ids['proposal_id']}/files/"
           f"{world.a.ids['attachment_id']}")
    assert client.get(url).status_code == 404
