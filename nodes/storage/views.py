"""Volume pages: the list, one volume with what can be done to it, creating one. Each
change is the same operation the API calls (nodes/storage/volumes.py), with its answers."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from nodes import operations
from nodes.choices import SnapshotStatus, VolumeStatus
from nodes.domainxml import library
from nodes.models import Rule
from nodes.storage import snapshots, volumes
from nodes.storage.forms import (
    INSTALLING,
    AttachForm,
    InstallForm,
    VolumeForm,
    VolumeImageForm,
)
from nodes.storage.models import Volume, VolumeSnapshot
from nodes.views.base import Column, DetailFragment, InventoryDetailView, InventoryListView


class VolumeList(InventoryListView):
    model = Volume
    columns = [
        Column("Id", "ec2_id", link=True),
        Column("Name", "name"),
        Column("Status", "status", badge=True),
        Column("Size (GiB)", "size_gib"),
        Column("Node", "node_name"),
        Column("Attached to", "instance"),
        Column("Device", "device"),
        Column("Owner", "owner"),
    ]
    search_fields = ["ec2_id", "name", "instance__ec2_id"]
    filters = {"status": VolumeStatus.choices}
    create_url_name = "storage:volume_create"
    members_create = True
    more_links = [("Install an image", "storage:install_image")]
    empty_hint = (
        "A volume is a disk of its own: attach it to an instance on its node, and it outlives "
        "the instance (terminating detaches it)."
    )
    live_refresh = True

    def get_queryset(self):
        volumes = super().get_queryset().select_related("node", "instance", "owner")
        if self.request.GET.get("status") != VolumeStatus.DELETED:
            volumes = volumes.exclude(status=VolumeStatus.DELETED)
        return volumes


class VolumeDetail(InventoryDetailView):
    model = Volume
    slug_field = "ec2_id"
    fields = [
        *VolumeList.columns[1:],
        Column("In the guest", "guest_path"),
        Column("Created", "created_at"),
        Column("Deleted", "deleted_at"),
    ]
    extra_template = "storage/volume_actions.html"
    live_url_name = "storage:volume_live"

    def get_context_data(self, **kwargs):
        volume = self.object
        attach = AttachForm(volume=volume, user=self.request.user)
        return super().get_context_data(
            attach_form=attach if volume.status == VolumeStatus.AVAILABLE else None,
            actions=volume.actions.select_related("instance")[:10],
            snapshots=volume.snapshots.exclude(status=SnapshotStatus.DELETED),
            **kwargs,
        )


class VolumeLive(DetailFragment, VolumeDetail):
    pass


def volume_create(request):
    form = VolumeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            volume, _ = volumes.create_volume(
                request.user, data["node"], data["size_gib"], data["name"], data["source_image"]
            )
        except operations.Refused as error:
            form.add_error("size_gib" if error.field == "size_gib" else None, error.message)
        else:
            messages.info(request, f"Creating {volume.ec2_id} on {volume.node}.")
            return redirect(volume)
    context = {"form": form, "title": "New volume", "submit_label": "Create the volume"}
    return render(request, "nodes/object_form.html", context)


def visible_volume(request, key):
    return get_object_or_404(Volume.objects.for_user(request.user), ec2_id=key)


@require_POST
def volume_attach(request, key):
    volume = visible_volume(request, key)
    form = AttachForm(request.POST, volume=volume, user=request.user)
    if not form.is_valid():
        messages.error(request, "Choose a running or stopped instance on the volume's node.")
        return redirect(volume)
    instance = form.cleaned_data["instance"]
    return started(request, volume, volumes.attach_volume, instance, request.user)


@require_POST
def volume_detach(request, key):
    return started(request, visible_volume(request, key), volumes.detach_volume, request.user)


@require_POST
def volume_delete(request, key):
    return started(request, visible_volume(request, key), volumes.delete_volume, request.user)


@require_POST
def volume_snapshot(request, key):
    volume = visible_volume(request, key)
    try:
        snapshot, _ = snapshots.snapshot_volume(volume, request.user)
    except operations.Refused as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"Taking {snapshot.ec2_id} of {volume.ec2_id}.")
    return redirect(volume)


class SnapshotDetail(InventoryDetailView):
    model = VolumeSnapshot
    slug_field = "ec2_id"
    fields = [
        Column("Of volume", "volume_ec2_id"),
        Column("Status", "status", badge=True),
        Column("Size (GiB)", "size_gib"),
        Column("Node", "node"),
        Column("Owner", "owner"),
        Column("Taken", "created_at"),
        Column("Deleted", "deleted_at"),
    ]
    extra_template = "storage/snapshot_actions.html"
    live_url_name = "storage:snapshot_live"


class SnapshotLive(DetailFragment, SnapshotDetail):
    pass


def visible_snapshot(request, key):
    return get_object_or_404(VolumeSnapshot.objects.for_user(request.user), ec2_id=key)


@require_POST
def snapshot_new_volume(request, key):
    snapshot = visible_snapshot(request, key)
    try:
        volume, _ = volumes.create_volume_from_snapshot(request.user, snapshot)
    except operations.Refused as error:
        messages.error(request, error.message)
        return redirect(snapshot)
    messages.info(request, f"Creating {volume.ec2_id} from {snapshot.ec2_id}.")
    return redirect(volume)


@require_POST
def snapshot_delete(request, key):
    snapshot = visible_snapshot(request, key)
    try:
        snapshots.delete_snapshot(snapshot, request.user)
    except operations.Refused as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"Deleting {snapshot.ec2_id}.")
    return redirect(snapshot)


def snapshot_image(request, key):
    """Make a machine image of a volume snapshot (POST /images/ {"from_snapshot"})."""
    snapshot = visible_snapshot(request, key)
    return image_page(request, snapshot, snapshots.make_image_of_snapshot, {})


def started(request, volume, operation, *args):
    """Start operation(volume, *args) and say so, or say why not, on the volume's page."""
    try:
        action = operation(volume, *args)
    except operations.Refused as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"{action.get_kind_display()} {volume.ec2_id}: queued.")
    return redirect(volume)


def install_image(request):
    """Seed 003 on one page: the installer launched with a blank volume, its VNC console
    open; "Make the image" on the instance page once it is stopped."""
    initial = {"iso": request.GET.get("iso")}  # an ISO image's page's "Install from it…"
    form = InstallForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        wanted = [form.cleaned_data["disk_gib"]]
        try:
            [(instance, _)] = volumes.launch_with_volumes(
                request.user, wanted, **form.launch_fields()
            )
        except operations.Refused as error:
            form.add_error(None, error.message)
        else:
            messages.info(
                request,
                f"Launching the installer as {instance.ec2_id}. Install onto vdc (the new "
                "volume); when it has finished, stop the instance and choose Make the image.",
            )
            return redirect("kumo:instance_console", instance.ec2_id)
    context = {
        "form": form,
        "title": "Install an image",
        "submit_label": "Launch the installer",
        "boot_params_ignored": not boot_params_reach_the_kernel(),
    }
    return render(request, "storage/install_image.html", context)


def boot_params_reach_the_kernel():
    return Rule.objects.filter(library_slug=library.BOOT_PARAMS, enabled=True).exists()


def volume_image(request, key):
    """Make a machine image of a volume (the API's POST /images/ {"from_volume"})."""
    volume = visible_volume(request, key)
    return image_page(request, volume, volumes.make_image_of_volume, image_name_for(volume))


def image_page(request, disk, make, initial):
    """The form that makes an image of disk (a volume or a snapshot) with make."""
    form = VolumeImageForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        name = data.pop("name")
        try:
            image, _ = make(disk, request.user, name, data)
        except operations.Refused as error:
            form.add_error("name" if error.field == "name" else None, error.message)
        else:
            messages.info(request, f"Making {image.ec2_id} from {disk.ec2_id}.")
            return redirect(image)
    title = f"Make an image of {disk.ec2_id}"
    context = {"form": form, "disk": disk, "title": title, "submit_label": "Make the image"}
    return render(request, "storage/volume_image.html", context)


def image_name_for(volume):
    """The image name the install flow asked for ("installing NAME"), else the volume's."""
    instance_name = volume.instance.name if volume.instance_id else ""
    return {"name": instance_name.removeprefix(INSTALLING) or volume.name}
