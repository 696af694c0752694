"""The volume pages' forms."""

from django import forms

from nodes import states
from nodes.choices import ActionKind
from nodes.forms import StyledForm, styled
from nodes.models import Instance
from nodes.storage.models import Volume
from nodes.storage.volumes import nodes_for_volumes


class VolumeForm(StyledForm):
    class Meta:
        model = Volume
        fields = ["name", "size_gib", "node"]
        help_texts = {
            "size_gib": "A blank disk, allocated as it is written (qcow2).",
            "node": "It attaches only to instances on this node.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes_for_volumes(user)


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
