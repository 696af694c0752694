"""SSH keypairs that members register for their instances."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from nodes import keys
from nodes.querysets import VisibleQuerySet
from nodes.validators import validate_name


class Keypair(models.Model):
    """An OpenSSH public key with its EC2-style fingerprint, owned by one user."""

    MEMBER_VISIBILITY = "own"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="keypairs"
    )
    name = models.CharField(max_length=63, validators=[validate_name])
    public_key = models.TextField()
    fingerprint = models.CharField(
        max_length=128,
        help_text="As EC2 shows it: Ed25519, base64 SHA-256; RSA and ECDSA, MD5 of the DER "
        "public key when imported, SHA-1 of the private key when created.",
    )
    fingerprint_sha256 = models.CharField("SHA256 fingerprint", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["owner__username", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="keypair_name_unique_per_owner"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("kumo:keypair_detail", args=[self.pk])

    @classmethod
    def import_public(cls, owner, name, text):
        """A keypair from an OpenSSH public key (keys.KeyRefused says why not)."""
        public = keys.parse_public_key(text)
        return cls.objects.create(
            owner=owner,
            name=name,
            public_key=public.line,
            fingerprint=public.ec2_fingerprint,
            fingerprint_sha256=public.sha256,
        )

    @classmethod
    def generate(cls, owner, name, kind="ed25519"):
        """A new key pair; returns (keypair, private key text). The private key is not kept."""
        private, public, fingerprint = keys.generate(kind)
        keypair = cls.objects.create(
            owner=owner,
            name=name,
            public_key=public.line,
            fingerprint=fingerprint,
            fingerprint_sha256=public.sha256,
        )
        return keypair, private
