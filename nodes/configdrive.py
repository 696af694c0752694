"""The cloud-init NoCloud config drive: an ISO 9660 image labelled "cidata" holding
meta-data and user-data, built in memory, so that an instance gets its SSH key and user data
without a metadata server. Pure: no Django."""

import io
import json

import pycdlib

FILES = {"meta-data": "/METADATA.;1", "user-data": "/USERDATA.;1"}


def meta_data(instance_id, hostname, public_keys):
    """NoCloud meta-data (JSON is YAML, and quotes every value safely)."""
    lines = [f"instance-id: {json.dumps(instance_id)}", f"local-hostname: {json.dumps(hostname)}"]
    if public_keys:
        lines.append("public-keys:")
        lines += [f"  - {json.dumps(key)}" for key in public_keys]
    return ("\n".join(lines) + "\n").encode()


def build(instance_id, hostname, public_keys, user_data: bytes) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    contents = {"meta-data": meta_data(instance_id, hostname, public_keys), "user-data": user_data}
    for name, data in contents.items():
        iso.add_fp(io.BytesIO(data), len(data), FILES[name], rr_name=name, joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read(image: bytes):
    """{name: contents} of a config drive and its volume label (for checks and tests)."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    files = {}
    for child in iso.list_children(rr_path="/"):
        name = child.rock_ridge.name().decode() if child.rock_ridge else ""
        if child.is_file():
            data = io.BytesIO()
            iso.get_file_from_iso_fp(data, rr_path=f"/{name}")
            files[name] = data.getvalue()
    label = iso.pvd.volume_identifier.decode().strip()
    iso.close()
    return label, files
