"""Image files on the console host, as Kumo imports and uploads them: whether a file is a
whole image of its format (`qemu-img info`), and whether a folder has room for one. Free of
libvirt: the web process checks uploads with it."""

import json
import shutil
import subprocess

from nodes.choices import ImageFormat

GIB = 1 << 30


class NotTheImage(Exception):
    """The file is not a whole image of the format asked for, or qemu-img cannot read it."""


def image_file_info(path):
    """What `qemu-img info` makes of the file at path: its "format", "virtual-size" and,
    for a qcow2, "backing-filename" and "format-specific" (an external data file)."""
    done = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise NotTheImage(f"qemu-img cannot read the file: {done.stderr.strip()}")
    return json.loads(done.stdout)


def guest_size(path, image_format):
    """The size the guest of the image file at path sees; NotTheImage when the file is not of
    image_format, or is a qcow2 that reads another file (its backing file) on the console
    host: an imported or uploaded file must be a whole image."""
    info = image_file_info(path)
    if info["format"] != image_format:
        raise NotTheImage(f"The file is {info['format']}, not {image_format}.")
    if image_format == ImageFormat.QCOW2 and "backing-filename" in info:
        raise NotTheImage(
            f"The qcow2 file has a backing file ({info['backing-filename']}): give a whole "
            "image (qemu-img convert -O qcow2 makes one)."
        )
    if data_file := info.get("format-specific", {}).get("data", {}).get("data-file"):
        raise NotTheImage(
            f"The qcow2 file keeps its data in another file ({data_file}): give a whole "
            "image (qemu-img convert -O qcow2 makes one)."
        )
    return info["virtual-size"]


def no_room_in(folder, needed):
    """Why folder of the console host (made if missing) has no room for needed bytes; or
    None when it has."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free >= needed:
        return None
    return (
        f"The console host has {free / GIB:.1f} GiB free in {folder}; "
        f"the image needs {needed / GIB:.1f} GiB."
    )
