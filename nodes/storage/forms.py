"""The volume pages' forms."""

from django import forms

from nodes import states
from nodes.choices import ActionKind, ImageKind
from nodes.forms import StyledForm, image_choice, styled, visible_images
from nodes.models import Image, Instance, InstanceType
from nodes.operations import LaunchInvalid, encoded_user_data, launch_cluster
from nodes.storage.models import MAX_SIZE_GIB, Volume
from nodes.storage.volumes import nodes_for_volumes
from nodes.validators import validate_xml_text


class VolumeForm(StyledForm):
    class Meta:
        model = Volume
        fields = ["name", "size_gib", "node", "source_image"]
        labels = {"source_image": "Start with the disk of"}
        help_texts = {
            "size_gib": "Allocated as it is written (qcow2); with an image, at least its size.",
            "node": "It attaches only to instances on this node.",
            "source_image": "A machine image copied into the volume (empty: a blank volume).",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes_for_volumes(user)
        self.fields["node"].required = True
        visible_images(self, user, source_image=ImageKind.MACHINE)


class AttachForm(forms.Form):
    instance = forms.ModelChoiceField(
        queryset=Instance.objects.none(),
        to_field_name="ec2_id",
        help_text="Running or stopped, on the volume's node; it gets the next free device.",
    )

    def __init__(self, *args, volume, user, **kwargs):
        super().__init__(*args, **kwargs)
        visible = Instance.objects.for_user(user).filter(node=volume.node_id)
        allowed = states.ALLOWED_FROM[ActionKind.ATTACH_VOLUME]
        self.fields["instance"].queryset = visible.filter(vm_state__in=allowed)
        styled(self)


INSTALLING = "installing "  # the installer instance's name: INSTALLING + the image's


class InstallForm(forms.Form):
    """Seed 003's "make an image from an installer", on one page."""

    name = forms.CharField(
        max_length=255 - len(INSTALLING),
        validators=[validate_xml_text],
        help_text="The image's name, once made.",
    )
    kernel = image_choice(required=False)
    ramdisk = image_choice(required=False)
    iso = image_choice(
        required=False,
        label="…or an ISO image",
        help_text="An installer's ISO, booted from a CD-ROM drive (instead of a kernel and "
        "ramdisk).",
    )
    boot_params = forms.CharField(
        required=False,
        max_length=1024,
        validators=[validate_xml_text],
        initial="console=tty0 priority=critical",
        label="Boot parameters",
        help_text="For a kernel: console=tty0 puts the installer on the VNC screen.",
    )
    disk_gib = forms.IntegerField(
        min_value=1,
        max_value=MAX_SIZE_GIB,
        initial=4,
        label="Target disk (GiB)",
        help_text="A new blank volume, vdc in the installer (/dev/disk/by-id/virtio-vol-…): "
        "install onto it.",
    )
    image = image_choice(
        label="Scratch root disk",
        help_text="The installer's vda, thrown away with the instance: not the install target.",
    )
    instance_type = forms.ModelChoiceField(
        queryset=InstanceType.objects.all(), to_field_name="name"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        visible_images(
            self,
            user,
            kernel=ImageKind.KERNEL,
            ramdisk=ImageKind.RAMDISK,
            iso=ImageKind.ISO,
            image=ImageKind.MACHINE,
        )
        styled(self)

    def clean(self):
        data = super().clean()
        kernel_boot = data.get("kernel") and data.get("ramdisk")
        if bool(kernel_boot) == bool(data.get("iso")):
            self.add_error(None, "Pick the installer's kernel and ramdisk, or its ISO image.")
        try:
            data["cluster"] = launch_cluster(None, None)
        except LaunchInvalid as error:
            self.add_error(None, str(error))
        return data

    def launch_fields(self):
        """What operations.launch takes for the installer."""
        data = self.cleaned_data
        user_data = f"bootparams={data['boot_params']}\n" if data["boot_params"] else ""
        return {
            "image": data["image"],
            "kernel": data["kernel"],
            "ramdisk": data["ramdisk"],
            "cdrom": data["iso"],
            "instance_type": data["instance_type"],
            "name": f"{INSTALLING}{data['name']}",
            "user_data": encoded_user_data(user_data),
            "cluster": data["cluster"],
        }


class VolumeImageForm(StyledForm):
    """The name and properties of a machine image made of a volume."""

    class Meta:
        model = Image
        fields = ["name", *Image.PROPERTIES]
        help_texts = {
            "name": "Yours and private (an admin can make it public); its disk a flattened copy "
            "of the volume's.",
        }
