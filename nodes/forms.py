"""Create and edit forms for the inventory (admins)."""

from pathlib import Path

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.validators import URLValidator
from django.db import transaction

from nodes import keys, states
from nodes.choices import AuthMethod, DomainType, ImageFormat, ImageKind, VolumeStatus
from nodes.domainxml.chain import Stage, compile_problems
from nodes.image_files import NotTheImage, guest_size
from nodes.models import Cluster, Image, InstanceType, Keypair, Node, Quota, Rule
from nodes.models.rules import SCOPE_TARGETS, TARGET_IDS, scope_errors
from nodes.operations import (
    MAX_USER_DATA,
    LaunchInvalid,
    Refused,
    encoded_user_data,
    import_image,
    launch_cluster,
    require_queue,
    upload_image,
)
from nodes.storage.models import MAX_SIZE_GIB, Volume
from nodes.validators import validate_name, validate_xml_text


def styled(form):
    """Give every widget of form its Bootstrap class (keeping classes it already has)."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs["class"] = f"{css} {field.widget.attrs.get('class', '')}".strip()


class StyledForm(forms.ModelForm):
    """A model form with Bootstrap widgets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        styled(self)


class ClusterForm(StyledForm):
    class Meta:
        model = Cluster
        fields = ["name", "description", "placement_policy", "cpu_mode", "cpu_model"]


class NodeForm(StyledForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="SASL password. Stored encrypted; leave blank to keep the current one.",
    )

    class Meta:
        model = Node
        fields = [
            "cluster",
            "name",
            "uri",
            "auth_method",
            "username",
            "password",
            "domain_type",
            "cpu_allocation_ratio",
            "ram_allocation_ratio",
            "disk_allocation_ratio",
            "enabled",
        ]

    def clean(self):
        data = super().clean()
        if data.get("auth_method") == AuthMethod.SASL:
            if not data.get("username"):
                self.add_error("username", "SASL needs a username.")
            if not data.get("password") and not self.instance.sealed_password:
                self.add_error("password", "SASL needs a password.")
        uri, domain_type = data.get("uri", ""), data.get("domain_type")
        if uri and domain_type and uri.startswith("test") != (domain_type == DomainType.TEST):
            self.add_error(
                "domain_type",
                "The test driver (test:// URIs) runs only domain type 'test', and only it does.",
            )
        return data

    def save(self, commit=True):
        if self.cleaned_data.get("password"):
            self.instance.set_password(self.cleaned_data["password"])
        if self.cleaned_data.get("auth_method") != AuthMethod.SASL:
            self.instance.sealed_password = ""
        return super().save(commit)


class ImageForm(StyledForm):
    class Meta:
        model = Image
        fields = [
            "kind",
            "name",
            "description",
            "format",
            "location",
            "is_public",
            *Image.PROPERTIES,
        ]
        help_texts = {
            "location": "The image file's absolute path on the console host, or an http(s) "
            "URL to import it from (Kumo downloads it into its images folder)."
        }

    URL_SCHEMES = ("http://", "https://")

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.owner = self.instance.owner if self.instance.pk else owner
        if self.instance.pk:
            self.fields["kind"].disabled = True
        self.import_url = self.import_action = None

    def clean_name(self):
        name = self.cleaned_data["name"]
        owned = Image.objects.filter(owner=self.instance.owner, name=name)
        if owned.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This owner already has an image with this name.")
        return name

    def clean_location(self):
        location = self.cleaned_data["location"]
        if location.lower().startswith(self.URL_SCHEMES):
            return self.cleaned_url(location)
        path = Path(location)
        if not path.is_absolute():
            raise forms.ValidationError("Give the absolute path of the image file.")
        if not path.is_file():
            raise forms.ValidationError(f"No file at {path} on the console host.")
        self.instance.size_bytes = path.stat().st_size
        return str(path)

    def cleaned_url(self, url):
        if self.instance.pk:
            raise forms.ValidationError(
                "An image is imported once, when it is registered: give the path of its file."
            )
        URLValidator(schemes=["http", "https"], message="Enter a whole http(s) URL.")(url)
        try:
            require_queue()
        except Refused as refusal:
            raise forms.ValidationError(str(refusal)) from refusal
        self.import_url = url
        return url

    def save(self, commit=True):
        """The image; one with a URL is pending until the import action downloads it."""
        if self.import_url is None:
            return super().save(commit)
        self.import_action = import_image(self.instance, self.import_url, self.instance.owner)
        return self.instance

    def clean(self):
        data = super().clean()
        if data.get("kind") == ImageKind.ISO and data.get("format") != ImageFormat.RAW:
            self.add_error("format", "An ISO image is raw.")
        return data


class ImageUploadForm(ImageForm):
    """A new image of a file uploaded into KUMO_IMAGES_DIR (api.uploads.ImageFileHandler),
    checked to be a whole image of the format given, then kept there under the image's id."""

    file = forms.FileField(help_text="The image file, of the format given.")

    class Meta(ImageForm.Meta):
        fields = [field for field in ImageForm.Meta.fields if field != "location"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        path = Path(upload.temporary_file_path())
        self.instance.size_bytes = path.stat().st_size
        if "format" in self.cleaned_data:
            try:
                self.instance.virtual_size_bytes = guest_size(path, self.cleaned_data["format"])
            except NotTheImage as problem:
                raise forms.ValidationError(str(problem)) from problem
        return upload

    def save(self, commit=True):
        return upload_image(self.instance, self.cleaned_data["file"].temporary_file_path())


class InstanceTypeForm(StyledForm):
    class Meta:
        model = InstanceType
        fields = ["name", "vcpus", "memory_mb", "disk_gb", "ephemeral_gb", "cpu_weight", "cpu_cap"]


class RuleForm(StyledForm):
    """A rule's settings and its stylesheet text; saving the text adds a revision."""

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
        strip=False,
        max_length=2_000_000,
        label="Stylesheet",
    )
    message = forms.CharField(
        required=False,
        max_length=255,
        label="What changed",
        help_text="Kept with the revision, for the history.",
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "description",
            "scope",
            "cluster",
            "node",
            "image",
            "instance_type",
            "owner",
            "position",
            "enabled",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_default:
            for name in [
                "scope",
                "cluster",
                "node",
                "image",
                "instance_type",
                "owner",
                "position",
                "enabled",
            ]:
                del self.fields[name]
        else:
            self.fields["owner"].queryset = get_user_model().objects.order_by("username")
            # Targets by the ids the API uses, so that the editor can preview with them.
            for name, slug in TARGET_IDS.items():
                self.fields[name].to_field_name = slug

    def clean_text(self):
        text = self.cleaned_data["text"]
        problems = compile_problems(Stage(self.data.get("name") or "rule", text))
        if problems:
            raise forms.ValidationError([str(problem) for problem in problems])
        return text

    def clean(self):
        data = super().clean()
        if self.instance.is_default:
            return data
        targets = {field: data.get(field) for field in SCOPE_TARGETS.values()}
        for field, message in scope_errors(data.get("scope"), targets).items():
            self.add_error(field, message)
        for field, value in targets.items():
            data[field] = value
            setattr(self.instance, field, value)
        return data

    @transaction.atomic
    def save(self, author):
        rule = super().save()
        rule.revise(self.cleaned_data["text"], author, self.cleaned_data["message"])
        return rule


def image_choice(**options):
    """An image chosen by its id, among those visible_images lets the user see."""
    return forms.ModelChoiceField(queryset=Image.objects.none(), to_field_name="ec2_id", **options)


def visible_images(form, user, **kinds):
    """Limit form's image fields (name=kind) to the available images of a kind user may see."""
    images = Image.objects.for_user(user).available()
    for name, kind in kinds.items():
        form.fields[name].queryset = images.filter(kind=kind)


class LaunchForm(forms.Form):
    """Launch instances: choices come from what the user may see."""

    image = image_choice()
    kernel = image_choice(required=False, help_text="For a kernel boot (an installer, say).")
    ramdisk = image_choice(required=False)
    cdrom = image_choice(
        required=False,
        label="CD-ROM",
        help_text="An ISO image (an installer's) in a CD-ROM drive, booted first.",
    )
    instance_type = forms.ModelChoiceField(
        queryset=InstanceType.objects.all(), to_field_name="name"
    )
    keypair = forms.ModelChoiceField(queryset=Keypair.objects.none(), required=False)
    user_data = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "kumo-mono"}),
        help_text="Up to 16 KiB. A line bootparams=… adds kernel parameters when the "
        "boot-parameters rule is enabled.",
    )
    user_data_file = forms.FileField(
        required=False, label="…or upload user data", help_text="A text file of up to 16 KiB."
    )
    name = forms.CharField(required=False, max_length=255, validators=[validate_xml_text])
    count = forms.IntegerField(min_value=1, max_value=20, initial=1)
    cluster = forms.ModelChoiceField(
        queryset=Cluster.objects.all(), to_field_name="name", required=False
    )
    node = forms.ModelChoiceField(
        queryset=Node.objects.none(),
        to_field_name="name",
        required=False,
        help_text="Admins may pin the node; otherwise the cluster's policy picks one.",
    )
    volumes = forms.ModelMultipleChoiceField(
        queryset=Volume.objects.none(),
        to_field_name="ec2_id",
        required=False,
        label="Attach volumes",
        help_text="Available volumes of yours, attached from the first boot (vdc, vdd …); the "
        "instance goes to their node.",
    )
    new_volume_gib = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SIZE_GIB,
        label="New blank volume (GiB)",
        help_text="Made on the instance's node and attached after the volumes above; it "
        "outlives the instance.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        own = Volume.objects.for_user(user).filter(owner=user, status=VolumeStatus.AVAILABLE)
        self.fields["volumes"].queryset = own
        visible_images(
            self,
            user,
            image=ImageKind.MACHINE,
            kernel=ImageKind.KERNEL,
            ramdisk=ImageKind.RAMDISK,
            cdrom=ImageKind.ISO,
        )
        self.fields["keypair"].queryset = Keypair.objects.for_user(user).filter(owner=user)
        self.fields["instance_type"].label_from_instance = lambda t: (
            f"{t.name} — {t.vcpus} vCPU, {t.memory_mb} MiB, {t.disk_gb} GiB"
        )
        if user.is_staff:
            self.fields["node"].queryset = Node.objects.filter(enabled=True)
        else:
            del self.fields["node"]
        styled(self)

    def clean_user_data_file(self):
        upload = self.cleaned_data.get("user_data_file")
        if upload and upload.size > MAX_USER_DATA:
            raise forms.ValidationError(
                f"User data is limited to 16 KiB ({upload.size} bytes given)."
            )
        return upload

    def clean(self):
        data = super().clean()
        upload = data.pop("user_data_file", None)
        if upload and data.get("user_data"):
            self.add_error("user_data_file", "Type the user data or upload it, not both.")
            return data
        text = upload.read() if upload else data.get("user_data", "")
        try:
            data["user_data"] = encoded_user_data(text)
            data["cluster"] = launch_cluster(data.get("cluster"), data.get("node"))
        except LaunchInvalid as error:
            self.add_error(error.field if error.field in self.fields else None, str(error))
        blank = data.pop("new_volume_gib", None)
        data["volumes"] = [*data.get("volumes", []), *([blank] if blank else [])]
        if data["volumes"] and data.get("count") != 1:
            self.add_error("count", "Volumes attach to one instance: launch 1.")
        return data


class AdoptForm(forms.Form):
    """Who owns an adopted domain, and as what image and type it is counted."""

    owner = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True))
    image = forms.ModelChoiceField(
        queryset=Image.objects.available().filter(kind=ImageKind.MACHINE)
    )
    instance_type = forms.ModelChoiceField(queryset=InstanceType.objects.all())


class ImageNameForm(StyledForm):
    """The name of a machine image made from a stopped instance's disk."""

    class Meta:
        model = Image
        fields = ["name"]
        help_texts = {
            "name": "The image is yours and private (an admin can make it public); its disk "
            "is a flattened copy of the instance's, with the properties of the instance's "
            "image (not its kernel, ramdisk or rules scoped to it)."
        }


class TuneForm(forms.Form):
    """What an instance runs with, each up to its instance type's; only what changes is
    applied, to the running domain and its definition."""

    vcpus = forms.IntegerField(label="vCPUs", min_value=1)
    memory_mib = forms.IntegerField(label="Memory (MiB)", min_value=1)
    cpu_weight = forms.IntegerField(
        label="CPU weight",
        min_value=1,
        max_value=65536,
        help_text="Share of contended CPU time: 256 is normal, 512 twice as much.",
    )
    cpu_cap = forms.IntegerField(
        label="CPU cap (%)",
        min_value=0,
        help_text="Most CPU it may use, in % of one CPU (50 = half, 200 = two); 0 for none.",
    )

    def __init__(self, *args, instance, **kwargs):
        tuning = instance.tuning
        self.before = {
            "vcpus": tuning.vcpus,
            "memory_mib": tuning.memory_mb,
            "cpu_weight": tuning.cpu_weight,
            "cpu_cap": tuning.cpu_cap,
        }
        super().__init__(*args, initial=self.before, **kwargs)
        kind = instance.instance_type
        self.fields["vcpus"].help_text = f"Up to {kind.vcpus} ({kind.name}'s); hot-plugged live."
        self.fields["memory_mib"].help_text = f"Up to {kind.memory_mb} MiB ({kind.name}'s)."
        styled(self)

    def changed_values(self):
        """The values that differ from what the instance runs with."""
        return {
            name: value for name, value in self.cleaned_data.items() if value != self.before[name]
        }


class ResizeForm(forms.Form):
    """The instance type to resize to; a running instance is stopped first when agreed."""

    instance_type = forms.ModelChoiceField(
        queryset=InstanceType.objects.none(),
        to_field_name="name",
        help_text="Its disks grow to the new type's (they never shrink). It stays on its node "
        "when the new size fits there; otherwise it moves, stopped, to a node where it does.",
    )
    stop = forms.BooleanField(
        label="Stop it first, and start it again after the resize",
        required=False,
    )

    def __init__(self, *args, instance, user, **kwargs):
        super().__init__(*args, **kwargs)
        others = InstanceType.objects.for_user(user).exclude(pk=instance.instance_type_id)
        self.fields["instance_type"].queryset = others.order_by("vcpus", "memory_mb", "name")
        if instance.vm_state not in states.MIGRATES_LIVE:
            del self.fields["stop"]
        styled(self)


class MigrateForm(forms.Form):
    """Where to move an instance (another node of its cluster), and how fast at most."""

    node = forms.ModelChoiceField(
        queryset=Node.objects.none(),
        required=False,
        empty_label="Let placement choose",
        to_field_name="name",
        help_text="A running instance moves live (its disks copied along); a stopped one "
        "cold (its disks copied, then its definition).",
    )
    max_speed_mib_s = forms.IntegerField(
        label="Maximum speed (MiB/s)",
        min_value=1,
        required=False,
        help_text="Blank: as fast as the network goes. It can be changed while it runs.",
    )

    def __init__(self, *args, instance, **kwargs):
        super().__init__(*args, **kwargs)
        others = Node.objects.filter(cluster=instance.cluster_id).exclude(pk=instance.node_id)
        self.fields["node"].queryset = others
        styled(self)


class KeypairForm(forms.Form):
    """Import a public key, or leave it empty to have a key pair generated."""

    name = forms.CharField(max_length=63, validators=[validate_name])
    public_key = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "kumo-mono"}),
        help_text="An OpenSSH public key (Ed25519, ECDSA, or RSA of 2048 bits or more). Leave "
        "empty to have Kumo generate a key pair: the private key is shown once, never stored.",
    )
    key_type = forms.ChoiceField(
        choices=[("ed25519", "Ed25519"), ("rsa", "RSA 3072")],
        initial="ed25519",
        help_text="For a generated key pair.",
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        styled(self)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Keypair.objects.filter(owner=self.owner, name=name).exists():
            raise forms.ValidationError("You already have a keypair with this name.")
        return name

    def clean_public_key(self):
        text = self.cleaned_data["public_key"].strip()
        if text:
            try:
                keys.parse_public_key(text)
            except keys.KeyRefused as error:
                raise forms.ValidationError(str(error)) from error
        return text


class UserForm(StyledForm):
    """An account as admins edit it. Admins (staff) see and do everything, in the console
    and in Django's admin; members see only their own things."""

    is_staff = forms.BooleanField(
        label="Admin",
        required=False,
        help_text="Admins see and do everything; members see only their own things.",
    )

    class Meta:
        model = get_user_model()
        fields = ["username", "first_name", "last_name", "email", "is_staff"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username == "new":
            raise forms.ValidationError("“new” names the page for a new user: choose another.")
        return username

    def save(self, commit=True):
        user = super().save(commit=False)
        user.is_superuser = user.is_staff
        if commit:
            user.save()
        return user


class NewUserForm(UserForm):
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput,
        help_text="Leave empty to have one generated: it is shown once, for you to pass on.",
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        if password:
            validate_password(password)
        return password


class QuotaForm(StyledForm):
    class Meta:
        model = Quota
        fields = ["instances", "vcpus", "ram_mb", "volumes", "volume_gib"]
        labels = {"vcpus": "vCPUs"}
