"""Writing the inventory over the API through the pages' own forms: the same fields, the
same validation and the same messages, whichever way an admin changes the cloud.

POST creates, PATCH changes the fields it names (the others keep their values), DELETE
deletes, or answers 409 naming what still uses the object.
"""

from django.db.models import ProtectedError
from django.forms import ModelChoiceField
from django.forms.models import model_to_dict
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from nodes.api.schema import errors

SHOWN_IN_CONFLICT = 5


class AdminsWrite(permissions.BasePermission):
    """Everyone signed in reads what for_user shows them; only admins do the view's
    admin_actions. (Its other actions say who may do them.)"""

    message = "Only admins can change the cloud's inventory."

    def has_permission(self, request, view):
        return view.action not in view.admin_actions or request.user.is_staff


def documented(write, read, creates=True):
    """The OpenAPI of FormWrites' operations: write is the request body, read the answer
    (creates=False: the view documents its own create)."""
    operations = {
        "partial_update": extend_schema(request=write, responses={200: read, **errors(400)}),
        "destroy": extend_schema(responses={204: None, **errors(409)}),
    }
    if creates:
        operations["create"] = extend_schema(request=write, responses={201: read, **errors(400)})
    return extend_schema_view(**operations)


class InUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "in_use"


def in_use_by(obj, protected):
    """ "demo is used by 2 nodes (local, sim) and 1 instance (i-4385BBB1)"."""
    kinds = {}
    for user in protected:
        kinds.setdefault(type(user)._meta, []).append(str(user))
    parts = []
    for meta, names in kinds.items():
        noun = meta.verbose_name if len(names) == 1 else meta.verbose_name_plural
        shown = ", ".join(sorted(names)[:SHOWN_IN_CONFLICT])
        more = (
            f" and {len(names) - SHOWN_IN_CONFLICT} more" if len(names) > SHOWN_IN_CONFLICT else ""
        )
        parts.append(f"{len(names)} {noun} ({shown}{more})")
    return f"{obj} is used by {' and '.join(parts)}: delete or move those first."


class FormWrites:
    """Mixed into a read-only viewset: create, partial update and delete by form_class.
    Related objects are written by the same names the API reads (`slugs`: field → the
    related model's field)."""

    form_class = None
    slugs: dict[str, str] = {}
    admin_actions = ("create", "partial_update", "destroy")
    permission_classes = [permissions.IsAuthenticated, AdminsWrite]

    def create(self, request, *args, **kwargs):
        return self.saved(self.new_form(request.data), status.HTTP_201_CREATED)

    def new_form(self, given, form_class=None, **kwargs):
        """The form (form_class's, or by default) of a new object: the fields given, over
        the model's defaults for those left out."""
        form_class = form_class or self.form_class
        meta = form_class._meta
        data = {**model_to_dict(meta.model(), fields=meta.fields), **self.form_data(given)}
        return form_class(data=data, **self.form_kwargs(), **kwargs)

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        current = model_to_dict(obj, fields=self.form_class._meta.fields)
        data = {**current, **self.form_data(request.data)}
        form = self.form_class(data=data, instance=obj, **self.form_kwargs())
        return self.saved(form, status.HTTP_200_OK)

    def form_kwargs(self):
        """What form_class takes besides its data (an image's owner)."""
        return {}

    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()
        try:
            obj.delete()
        except ProtectedError as error:
            raise InUse(in_use_by(obj, error.protected_objects)) from error
        return Response(status=status.HTTP_204_NO_CONTENT)

    def form_data(self, data):
        """The request's fields as the form takes them: related objects by primary key."""
        if not hasattr(data, "items"):
            raise ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: ["Send a JSON object of fields."]}
            )
        wanted = {}
        for name, value in data.items():
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError({name: ["Null characters are not allowed."]})
            wanted[name] = self.related_key(name, value)
        return wanted

    def related_key(self, name, value):
        field = self.form_class.base_fields.get(name)
        if name not in self.slugs or not isinstance(field, ModelChoiceField):
            return value
        if not isinstance(value, str):  # a number, a list, an object: no name; the form says so
            return f"no such {name}: {value!r}"
        match = field.queryset.filter(**{self.slugs[name]: value}).values_list("pk", flat=True)
        return next(iter(match), f"no such {name}: {value}")  # the form then says it is not one

    def saved(self, form, answer_status):
        checked(form)
        obj = form.save()
        self.after_save(obj)
        return Response(self.get_serializer(obj).data, status=answer_status)

    def after_save(self, obj):
        """What the page does after saving too (a node's probe)."""


def checked(form):
    """form, valid; else its errors as the API's 400 (non_field_errors for the whole)."""
    if not form.is_valid():
        raise ValidationError(
            {
                api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: [
                    error["message"] for error in field_errors
                ]
                for field, field_errors in form.errors.get_json_data().items()
            }
        )
    return form
