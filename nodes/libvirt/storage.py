"""Disks on a node, through libvirt storage pools, so that remote nodes work alike.

Images live in the dir pool "kumo-images" (Node.images_path), uploaded through the libvirt
stream API the first time a node needs them. Each instance has a dir pool of its own at its
instance path, holding its root disk (a qcow2 overlay on the image, seed 004) and the
console log.
"""

import contextlib
import json
import logging
import os
import subprocess
import uuid

import libvirt
from lxml import etree

from nodes.libvirt.connection import NodeError
from nodes.storage.models import IMAGES_POOL

log = logging.getLogger(__name__)
CHUNK = 1 << 20
GIB = 1 << 30


def pool_xml(name, path):
    pool = etree.Element("pool", type="dir")
    etree.SubElement(pool, "name").text = name
    etree.SubElement(etree.SubElement(pool, "target"), "path").text = path
    return etree.tostring(pool, encoding="unicode")


def volume_xml(name, capacity_bytes, fmt, backing=None):
    volume = etree.Element("volume")
    etree.SubElement(volume, "name").text = name
    etree.SubElement(volume, "capacity", unit="bytes").text = str(capacity_bytes)
    etree.SubElement(etree.SubElement(volume, "target"), "format", type=fmt)
    if backing:
        path, backing_format = backing
        store = etree.SubElement(volume, "backingStore")
        etree.SubElement(store, "path").text = path
        etree.SubElement(store, "format", type=backing_format)
    return etree.tostring(volume, encoding="unicode")


def storage_pools(connection, skip=lambda name: False):
    """What each of the node's pools but those whose name skip() picks is, and the room it
    has, as libvirt last counted it (a probe reads, it does not refresh: refreshing a large
    pool scans all its volumes). Skipped pools cost no call: a name is known locally."""
    pools = []
    for pool in connection.listAllStoragePools(0):
        if skip(pool.name()):
            continue
        with contextlib.suppress(libvirt.libvirtError):  # undefined since it was listed
            pools.append(pool_facts(pool))
    return pools


def pool_facts(pool):
    tree = etree.fromstring(pool.XMLDesc(0).encode())
    active = bool(pool.isActive())
    capacity, allocation, available = pool.info()[1:] if active else (0, 0, 0)
    return {
        "name": pool.name(),
        "type": tree.get("type", ""),
        "active": active,
        "path": tree.findtext("target/path") or "",
        "capacity_bytes": capacity,
        "allocation_bytes": allocation,
        "available_bytes": available,
        "volumes": sorted(pool.listVolumes()) if active else [],
    }


def convert_to_qcow2(source_path, target_path):
    """target_path: a qcow2 file of all of source_path's content, its backing chain read
    through (what libvirt's createXMLFrom runs, without a second copy through a stream)."""
    done = subprocess.run(
        ["qemu-img", "convert", "-O", "qcow2", source_path, target_path],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise NodeError(f"qemu-img could not copy {source_path}: {done.stderr.strip()}")


def qcow2_size_needed(source_path):
    """The bytes convert_to_qcow2 of source_path writes at most (`qemu-img measure`)."""
    done = subprocess.run(
        ["qemu-img", "measure", "--output=json", "-U", "-O", "qcow2", source_path],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise NodeError(f"qemu-img could not measure {source_path}: {done.stderr.strip()}")
    return json.loads(done.stdout)["required"]


class Storage:
    """Storage operations on an open Hypervisor's connection."""

    def __init__(self, hypervisor):
        self.hypervisor = hypervisor
        self.connection = hypervisor.connection
        self.call = hypervisor.call

    def pool(self, name, path):
        """The running dir pool `name` at path, defined, built and started if need be."""
        try:
            pool = self.connection.storagePoolLookupByName(name)
        except libvirt.libvirtError:
            pool = self.call(
                f"Defining storage pool {name}",
                self.connection.storagePoolDefineXML,
                pool_xml(name, path),
                0,
            )
            self.call(f"Creating {path} on the node", pool.build, 0)
            self.call(f"Starting {name} with the node", pool.setAutostart, 1)
        self.start_pool(pool, name)
        return pool

    def start_pool(self, pool, name):
        if not self.call(f"Reading storage pool {name}", pool.isActive):
            self.call(f"Starting storage pool {name}", pool.create, 0)
        self.call(f"Refreshing storage pool {name}", pool.refresh, 0)

    def volume(self, pool, name):
        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError:
            return None

    def upload_image(self, images_path, image, beat=lambda: None):
        """Make image (its ec2_id, location, size_bytes and format) available on the node as
        images_path/ec2_id; returns its path."""
        return self.upload(
            IMAGES_POOL,
            images_path,
            image.ec2_id,
            image.location,
            image.size_bytes,
            image.format,
            beat,
        )

    def upload(self, pool_name, directory, name, local_path, size, fmt, beat=lambda: None):
        """Copy a local file into the pool at directory through the libvirt stream API,
        unless a volume of that name and size is there already; returns its path. beat() is
        called for every MiB sent (it may raise to stop the upload)."""
        pool = self.pool(pool_name, directory)
        volume = self.volume(pool, name)
        if volume is not None and self.call(f"Reading {name}", volume.info)[1] >= size:
            return self.call(f"Reading {name}", volume.path)
        volume = self.call(
            f"Creating volume {name}", pool.createXML, volume_xml(name, size, fmt), 0
        )
        stream = self.call(f"Uploading {name}", self.connection.newStream, 0)
        try:
            self.call(f"Uploading {name}", volume.upload, stream, 0, size, 0)
            with open(local_path, "rb") as source:

                def send(_stream, wanted, file):
                    beat()
                    return file.read(min(wanted, CHUNK))

                self.call(f"Uploading {name}", stream.sendAll, send, source)
            self.call(f"Uploading {name}", stream.finish)
        except Exception:  # a libvirt failure, or beat() stopping it: no half volume
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            with contextlib.suppress(libvirt.libvirtError):
                volume.delete(0)  # a half volume would pass for the whole image next time
            raise
        return self.call(f"Reading {name}", volume.path)

    def existing_pool(self, name):
        """The running pool `name`, started if need be; NodeError if the node has none."""
        try:
            pool = self.connection.storagePoolLookupByName(name)
        except libvirt.libvirtError as error:
            raise NodeError(f"The node has no storage pool {name}.") from error
        self.start_pool(pool, name)
        return pool

    def flattened_copy(self, pool, source_name, name, into=None, capacity_bytes=None):
        """A new qcow2 volume `name` in pool `into` (source_name's own by default) holding all
        of source_name's content (libvirt runs qemu-img convert: the backing chain is read
        through, nothing stays shared), of capacity_bytes (at least the source's)."""
        source = self.call(f"Reading {source_name}", pool.storageVolLookupByName, source_name)
        capacity = self.call(f"Reading {source_name}", source.info)[1]
        xml = volume_xml(name, capacity, "qcow2")
        copy = self.call(f"Copying {source_name}", (into or pool).createXMLFrom, xml, source, 0)
        if capacity_bytes and capacity_bytes > capacity:
            self.call(f"Growing {name}", copy.resize, capacity_bytes, 0)
        return copy

    def local_file(self, pool, name):
        """The path of volume `name` of pool when the node is this host and the file is
        readable here (Kumo runs as a user that may read it), else None."""
        volume = self.call(f"Reading {name}", pool.storageVolLookupByName, name)
        path = self.call(f"Reading {name}", volume.path)
        if self.hypervisor.endpoint.is_this_host and os.access(path, os.R_OK):
            return path
        return None

    def download(self, volume, local_path, beat=lambda received: None):
        """Copy volume into the local file through the libvirt stream API; beat(bytes so
        far) is called for every chunk received (it may raise to stop). Returns the bytes
        written (the volume's allocation, as `sizes` gives it)."""
        name = self.call("Reading a volume", volume.name)
        stream = self.call(f"Downloading {name}", self.connection.newStream, 0)
        try:
            self.call(f"Downloading {name}", volume.download, stream, 0, 0, 0)
            with open(local_path, "wb") as target:

                def receive(_stream, data, file):
                    beat(file.tell() + len(data))
                    return file.write(data)

                self.call(f"Downloading {name}", stream.recvAll, receive, target)
            self.call(f"Downloading {name}", stream.finish)
        except Exception:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
            raise
        return os.path.getsize(local_path)

    def volumes(self, pool):
        """(name, volume) of every volume of pool."""
        listed = self.call("Listing volumes", pool.listAllVolumes, 0)
        return [(volume.name(), volume) for volume in listed]

    def sizes(self, volume):
        """(capacity, allocation) in bytes: what its guest sees, what it takes on the node."""
        return tuple(self.call("Reading a volume", volume.info)[1:3])

    def grow(self, pool, name, capacity_bytes):
        """Grow volume name of pool to capacity_bytes when it is smaller (never shrink)."""
        volume = self.call(f"Reading {name}", pool.storageVolLookupByName, name)
        if self.sizes(volume)[0] < capacity_bytes:
            self.call(f"Growing {name}", volume.resize, capacity_bytes, 0)

    def available(self, pool):
        """The bytes pool has free, as libvirt counted them at its last refresh."""
        return self.call("Reading a storage pool", pool.info)[3]

    def delete_volume(self, volume, quietly=False):
        """Delete volume; quietly: log a failure rather than raise it (cleanup that must
        not hide why the work before it failed)."""
        try:
            self.call("Deleting a volume", volume.delete, 0)
        except NodeError as error:
            if not quietly:
                raise
            log.warning("a volume was left on the node: %s", error)

    def delete_volumes(self, pool, prefix, keep=()):
        """Delete the volumes of pool whose names start with prefix, but those in keep."""
        for volume in self.call("Listing volumes", pool.listAllVolumes, 0):
            if volume.name().startswith(prefix) and volume.name() not in keep:
                self.delete_volume(volume)

    def create_blank(self, pool_name, directory, name, capacity_bytes):
        """A blank qcow2 volume of capacity_bytes (room_for checks the pool's room)."""
        self.room_for(pool_name, directory, capacity_bytes)
        return self.create_volume(pool_name, directory, name, capacity_bytes)

    def room_for(self, pool_name, directory, needed_bytes):
        """The running dir pool at directory, refused (NodeError, with the figures) when it
        has less room than needed_bytes: Kumo counts a sparse volume's whole size."""
        pool = self.pool(pool_name, directory)
        available = self.available(pool)
        if available < needed_bytes:
            raise NodeError(
                f"Storage pool {pool_name} has {available / GIB:.1f} GiB free; the volume "
                f"needs {needed_bytes / GIB:.1f} GiB."
            )
        return pool

    def create_volume(self, pool_name, directory, name, capacity_bytes, backing=None):
        """A qcow2 volume in the pool at directory, on backing (path, format) if given."""
        pool = self.pool(pool_name, directory)
        existing = self.volume(pool, name)
        if existing is not None:
            return self.call(f"Reading {name}", existing.path)
        xml = volume_xml(name, capacity_bytes, "qcow2", backing)
        return self.call(f"Creating disk {name}", pool.createXML, xml, 0).path()

    def shared_with(self, other, pool_name, directory):
        """Whether other's node sees this node's pool pool_name at directory as the same
        files (shared storage): a marker made here, looked for there."""
        pool = self.pool(pool_name, directory)
        name = f"kumo-shared-check-{uuid.uuid4().hex[:12]}"
        marker = self.call(f"Creating {name}", pool.createXML, volume_xml(name, 1 << 20, "raw"), 0)
        try:
            return other.volume(other.pool(pool_name, directory), name) is not None
        finally:
            self.delete_volume(marker, quietly=True)

    def forget_pool(self, name):
        """Undefine pool `name`, leaving its volumes and directory (storage another node
        uses too)."""
        try:
            pool = self.connection.storagePoolLookupByName(name)
        except libvirt.libvirtError:
            return
        if self.call(f"Reading storage pool {name}", pool.isActive):
            self.call(f"Stopping storage pool {name}", pool.destroy)
        self.call(f"Removing storage pool {name}", pool.undefine)

    def delete_pool(self, name):
        """Delete every volume of pool `name`, its directory and its definition."""
        try:
            pool = self.connection.storagePoolLookupByName(name)
        except libvirt.libvirtError:
            return
        self.start_pool(pool, name)
        for volume in self.call(f"Listing the volumes of {name}", pool.listAllVolumes, 0):
            self.call(f"Deleting {volume.name()}", volume.delete, 0)
        self.call(f"Stopping storage pool {name}", pool.destroy)
        self.call(f"Deleting the directory of {name}", pool.delete, 0)
        self.call(f"Removing storage pool {name}", pool.undefine)
