"""Creates the reference app's users (docs/reference-app.md) in auth_user."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create john (password) and jane (secret)."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, password in [("john", "password"), ("jane", "secret")]:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@domain.com"}
            )
            user.set_password(password)
            user.save()
        self.stdout.write("seeded")
