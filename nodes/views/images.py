"""Pages for images and instance types."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from nodes import uploads
from nodes.choices import ImageKind
from nodes.forms import ImageForm, ImageUploadForm, InstanceTypeForm
from nodes.middleware import sets_its_upload_handlers
from nodes.models import Image, InstanceType
from nodes.operations import Refused
from nodes.views.base import (
    Column,
    InventoryCreateView,
    InventoryDetailView,
    InventoryListView,
    InventoryUpdateView,
)


class ImageList(InventoryListView):
    model = Image
    columns = [
        Column("Id", "ec2_id", link=True),
        Column("Name", "name"),
        Column("Kind", "get_kind_display"),
        Column("Format", "format"),
        Column("Size (bytes)", "size_bytes"),
        Column("Public", "is_public"),
        Column("Owner", "owner"),
        Column("Status", "get_status_display"),
    ]
    search_fields = ["ec2_id", "name", "description"]
    filters = {"kind": ImageKind.choices, "is_public": [("True", "yes"), ("False", "no")]}
    create_url_name = "kumo:image_create"
    more_links = [("Install an image", "storage:install_image")]
    empty_hint = "Register a machine image (emi-), or a kernel (eki-) and ramdisk (eri-) to boot."

    def get_queryset(self):
        return super().get_queryset().select_related("owner")


class ImageDetail(InventoryDetailView):
    model = Image
    slug_field = "ec2_id"
    fields = [
        Column("Name", "name"),
        Column("Kind", "get_kind_display"),
        Column("Description", "description"),
        Column("Format", "format"),
        Column("Location", "location"),
        Column("Size (bytes)", "size_bytes"),
        Column("Public", "is_public"),
        Column("Owner", "owner"),
        Column("Status", "get_status_display"),
        Column("Hypervisor", "get_hypervisor_display"),
        Column("Architecture", "arch"),
        Column("VM mode", "vm_mode"),
        Column("Platform", "platform"),
        Column("virtio root", "virtio_root"),
        Column("virtio disk", "virtio_disk"),
        Column("virtio net", "virtio_net"),
    ]
    edit_url_name = "kumo:image_edit"
    extra_template = "nodes/image_launch.html"


class ImageFormMixin:
    model = Image
    form_class = ImageForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "owner": self.request.user}


class ImageCreate(ImageFormMixin, InventoryCreateView):
    template_name = "nodes/image_form.html"

    def form_valid(self, form):
        """An image imported from a URL: to its action's page, which follows the download."""
        try:
            answer = super().form_valid(form)
        except Refused as refusal:  # its name taken meanwhile, or Redis gone
            form.add_error(refusal.field, refusal.message)
            return self.form_invalid(form)
        return redirect(form.import_action) if form.import_action else answer


@sets_its_upload_handlers
@csrf_exempt  # checked below, once the upload handler is set: the CSRF check reads the body
def image_upload(request):
    """A new image from a file sent from the browser (with its progress, by kumo.js)."""
    if not request.user.is_staff:
        raise PermissionDenied("Only admins can change the cloud's inventory.")
    if request.method == "POST" and (why := uploads.read(request)):
        messages.error(request, why)  # nothing was read, nor done: no CSRF token to check
        return upload_page(request, ImageUploadForm(owner=request.user))
    return image_upload_form(request)


@csrf_protect
def image_upload_form(request):
    form = ImageUploadForm(request.POST or None, request.FILES or None, owner=request.user)
    if form.is_bound and form.is_valid():
        try:
            return redirect(form.save())
        except Refused as refusal:
            form.add_error(refusal.field, refusal.message)
    return upload_page(request, form)


def upload_page(request, form):
    context = {"form": form, "title": "Upload an image", "submit_label": "Upload"}
    return render(request, "nodes/image_upload.html", context)


class ImageEdit(ImageFormMixin, InventoryUpdateView):
    slug_field = "ec2_id"


def vcpu_choices():
    counts = InstanceType.objects.order_by("vcpus").values_list("vcpus", flat=True).distinct()
    return [(count, str(count)) for count in counts]


class InstanceTypeList(InventoryListView):
    model = InstanceType
    columns = [
        Column("Name", "name", link=True),
        Column("vCPUs", "vcpus"),
        Column("Memory (MiB)", "memory_mb"),
        Column("Disk (GiB)", "disk_gb"),
        Column("Ephemeral (GiB)", "ephemeral_gb"),
    ]
    search_fields = ["name"]
    filters = {"vcpus": vcpu_choices}
    filter_labels = {"vcpus": "vCPUs"}
    create_url_name = "kumo:instancetype_create"
    empty_hint = "Instance types are the sizes members launch: m1.small, m1.medium …"


class InstanceTypeDetail(InventoryDetailView):
    model = InstanceType
    slug_field = "name"
    fields = [
        *InstanceTypeList.columns[1:],
        Column("CPU weight", "cpu_weight"),
        Column("CPU cap (%)", "cpu_cap"),
    ]
    edit_url_name = "kumo:instancetype_edit"


class InstanceTypeCreate(InventoryCreateView):
    model = InstanceType
    form_class = InstanceTypeForm


class InstanceTypeEdit(InventoryUpdateView):
    model = InstanceType
    form_class = InstanceTypeForm
    slug_field = "name"
