"""Users over the API (admins): accounts as on the users' pages, by the same forms and
rules (nodes/operations/accounts.py); each one's quota is /api/v1/quotas/{username}/."""

from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from nodes.api.schema import errors
from nodes.api.views import NAME_IN_URL, refused
from nodes.api.writes import FormWrites, checked
from nodes.forms import NewUserForm, UserForm
from nodes.operations import Refused
from nodes.operations.accounts import check_own_role, create_account, set_active
from nodes.querysets import users_for


class AccountSerializer(serializers.ModelSerializer):
    is_staff = serializers.BooleanField(
        required=False, help_text=UserForm.base_fields["is_staff"].help_text
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false: it can no longer log in or use its token."
    )

    class Meta:
        model = get_user_model()
        fields = [*UserForm._meta.fields, "is_active", "date_joined", "last_login"]
        read_only_fields = ["date_joined", "last_login"]


class NewAccount(AccountSerializer):
    password = serializers.CharField(
        required=False, write_only=True, help_text=NewUserForm.base_fields["password"].help_text
    )

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "password"]


@extend_schema_view(
    create=extend_schema(
        request=NewAccount,
        responses={
            201: inline_serializer(
                "NewAccountCreated",
                {
                    **AccountSerializer().get_fields(),
                    "password": serializers.CharField(
                        required=False, help_text="The generated password, shown this once."
                    ),
                },
            ),
            **errors(400),
        },
    ),
    partial_update=extend_schema(
        request=AccountSerializer, responses={200: AccountSerializer, **errors(400)}
    ),
    destroy=extend_schema(responses={204: None, **errors(409)}),
)
class UserViewSet(FormWrites, viewsets.ReadOnlyModelViewSet):
    """Accounts (admins): create one (a password is generated and answered once when none
    is given), change it, deactivate it (`"is_active": false`), delete one that owns
    nothing."""

    serializer_class = AccountSerializer
    form_class = UserForm
    permission_classes = [permissions.IsAdminUser]
    lookup_field = "username"
    lookup_value_regex = NAME_IN_URL

    def get_queryset(self):
        return users_for(self.request.user).order_by("username")

    def create(self, request, *args, **kwargs):
        form = checked(NewUserForm(data=self.form_data(request.data)))
        person, generated = create_account(form)
        body = AccountSerializer(person).data
        if generated:
            body["password"] = generated
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the password must not linger anywhere
        return response

    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        wanted = self.form_data(request.data)
        try:
            active = serializers.BooleanField().run_validation(
                wanted.pop("is_active", person.is_active)
            )
        except ValidationError as error:
            raise ValidationError({"is_active": error.detail}) from error
        current = model_to_dict(person, fields=UserForm._meta.fields)
        form = checked(UserForm(data={**current, **wanted}, instance=person))
        try:
            check_own_role(request.user, person, form.cleaned_data["is_staff"])
            if active != person.is_active:
                set_active(request.user, person, active)
        except Refused as error:
            raise refused(error) from error
        form.save()
        return Response(AccountSerializer(person).data)

    def destroy(self, request, *args, **kwargs):
        if self.get_object() == request.user:
            raise PermissionDenied("You cannot delete your own account.")
        return super().destroy(request, *args, **kwargs)
