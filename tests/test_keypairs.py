"""Keypairs: strict import, generation with the private key shown once, fingerprints as EC2
and ssh-keygen print them, per-user names, deletion."""

import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from nodes.keys import KeyRefused, parse_public_key
from nodes.models import Keypair


def openssh_public(private):
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
        + " bob@laptop"
    )


GOOD = {
    "ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ecdsa-p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "rsa-2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_keys_are_imported(kind):
    key = parse_public_key(openssh_public(GOOD[kind]()))
    assert key.line.endswith("bob@laptop") and key.sha256.startswith("SHA256:")


BAD = [
    ("", "Paste an OpenSSH public key"),
    ("garbage", "Key type 'garbage' is not accepted"),
    ("ssh-ed25519 not-base64!!", "not a valid OpenSSH public key"),
    (
        "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t",
        "certificates are not accepted",
    ),
    ("ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20=", "certificates"),
    ("ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNh", "certificates are not accepted"),
    ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "is not accepted"),
    ("sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNh", "is not accepted"),
    ("ecdsa-sha2-nistp192 AAAAE2VjZHNhLXNoYTItbmlzdHAxOTI=", "is not accepted"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "PEM file"),
    ("ssh-ed25519 AAAA\nssh-rsa AAAA", "one line"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_keys_are_refused_with_the_reason(text, message):
    with pytest.raises(KeyRefused, match=message):
        parse_public_key(text)


def test_dsa_and_short_rsa_are_refused():
    with pytest.raises(KeyRefused, match="DSA keys are not accepted"):
        parse_public_key(
            "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZp bob@old"
        )
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(KeyRefused, match="1024 bits; at least 2048"):
        parse_public_key(openssh_public(short))


def test_a_key_type_that_lies_about_its_data_is_refused():
    ed = openssh_public(ed25519.Ed25519PrivateKey.generate()).split()[1]
    with pytest.raises(KeyRefused, match="not a valid"):
        parse_public_key(f"ssh-rsa {ed}")


def run(*command, stdin=None):
    return subprocess.run(command, input=stdin, capture_output=True, check=True).stdout


@pytest.mark.parametrize("kind", ["rsa-2048", "ecdsa-p384"])
def test_fingerprints_match_ssh_keygen_and_ec2s_openssl_recipe(kind, tmp_path):
    line = openssh_public(GOOD[kind]())
    (tmp_path / "k.pub").write_text(line + "\n")
    key = parse_public_key(line)
    assert key.sha256 in run("ssh-keygen", "-l", "-f", tmp_path / "k.pub").decode()
    pem = run("ssh-keygen", "-e", "-m", "PKCS8", "-f", tmp_path / "k.pub")
    der = run("openssl", "pkey", "-pubin", "-outform", "DER", stdin=pem)
    md5 = run("openssl", "md5", "-c", stdin=der).decode().split("= ")[-1].strip()
    assert key.ec2_fingerprint == md5 and len(md5.split(":")) == 16


def test_an_ed25519_fingerprint_is_ec2s_padded_sha256(tmp_path):
    line = openssh_public(GOOD["ed25519"]())
    (tmp_path / "k.pub").write_text(line + "\n")
    key = parse_public_key(line)
    printed = run("ssh-keygen", "-l", "-f", tmp_path / "k.pub").decode().split()[1]
    assert key.ec2_fingerprint == printed.removeprefix("SHA256:") + "="


def test_the_api_imports_a_key_and_returns_no_private_key(api, member_a):
    api.force_authenticate(member_a)
    response = api.post(
        "/api/v1/keypairs/",
        {"name": "laptop", "public_key": openssh_public(GOOD["ed25519"]())},
        format="json",
    )
    assert response.status_code == 201 and "private_key" not in response.json()
    assert response.json()["fingerprint"].endswith("=")  # base64 SHA-256, as EC2 shows it


def test_the_api_generates_a_key_and_shows_the_private_key_once(api, member_a):
    api.force_authenticate(member_a)
    response = api.post("/api/v1/keypairs/", {"name": "made", "key_type": "rsa"}, format="json")
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    private = serialization.load_ssh_private_key(body["private_key"].encode(), None)
    assert private.key_size == 3072
    assert openssh_public(private).split()[1] in body["public_key"]
    again = api.get("/api/v1/keypairs/made/").json()
    assert "private_key" not in again
    stored = Keypair.objects.get(name="made")
    assert "PRIVATE" not in " ".join(
        str(getattr(stored, f.attname)) for f in Keypair._meta.concrete_fields
    )


def test_names_are_unique_per_user_and_private_to_them(api, member_a, member_b):
    api.force_authenticate(member_a)
    api.post("/api/v1/keypairs/", {"name": "main"}, format="json")
    assert api.post("/api/v1/keypairs/", {"name": "main"}, format="json").status_code == 400
    api.force_authenticate(member_b)
    assert api.get("/api/v1/keypairs/main/").status_code == 404
    assert api.post("/api/v1/keypairs/", {"name": "main"}, format="json").status_code == 201
    assert api.delete("/api/v1/keypairs/main/").status_code == 204
    assert Keypair.objects.filter(owner=member_a, name="main").exists()


def test_the_api_explains_a_refused_key(api, member_a):
    api.force_authenticate(member_a)
    response = api.post(
        "/api/v1/keypairs/",
        {"name": "old", "public_key": "ssh-dss AAAAB3NzaC1kc3M="},
        format="json",
    )
    assert response.status_code == 400 and "DSA" in response.json()["public_key"][0]


def test_the_pages_create_show_once_and_delete(member_client, member_a):
    response = member_client.post("/keypairs/new/", {"name": "web", "key_type": "ed25519"})
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "BEGIN OPENSSH PRIVATE KEY" in page and "only time" in page
    keypair = Keypair.objects.get(owner=member_a, name="web")
    assert "BEGIN OPENSSH" not in member_client.get(f"/keypairs/{keypair.pk}/").content.decode()
    refused = member_client.post(
        "/keypairs/new/", {"name": "x", "public_key": "ssh-dss AAAA", "key_type": "ed25519"}
    ).content.decode()
    assert "DSA keys are not accepted" in refused
    member_client.post(f"/keypairs/{keypair.pk}/delete/")
    assert not Keypair.objects.filter(pk=keypair.pk).exists()


@pytest.mark.parametrize("name", ["ключ", "x" * 64, "has space", ""])
def test_bad_keypair_names_are_refused(api, member_a, name):
    api.force_authenticate(member_a)
    response = api.post("/api/v1/keypairs/", {"name": name}, format="json")
    assert response.status_code == 400 and "name" in response.json()
    assert not Keypair.objects.exists()


def test_a_generated_key_is_ed25519_unless_rsa_is_asked_for(api, member_a):
    api.force_authenticate(member_a)
    body = api.post("/api/v1/keypairs/", {"name": "plain"}, format="json").json()
    private = serialization.load_ssh_private_key(body["private_key"].encode(), None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert body["public_key"].startswith("ssh-ed25519 ") and body["fingerprint"].endswith("=")


def test_deleting_a_keypair_leaves_its_instances_their_key(world, member_client):
    keypair = world["keypair_a"]
    instance = world["instance_a"]
    instance.keypair, instance.key_name, instance.public_key = keypair, "main", keypair.public_key
    instance.save()
    member_client.post(f"/keypairs/{keypair.pk}/delete/")
    instance.refresh_from_db()
    assert instance.keypair is None
    assert (instance.key_name, instance.public_key) == ("main", keypair.public_key)
