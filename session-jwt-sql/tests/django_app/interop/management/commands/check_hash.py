"""Prints whether Django would rehash a user's password at its next login
(another algorithm or iteration count than its own default)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = get_user_model().objects.get(username=options["username"])
        hasher = identify_hasher(user.password)
        self.stdout.write(
            f"{hasher.algorithm} must_update={hasher.must_update(user.password)}"
        )
