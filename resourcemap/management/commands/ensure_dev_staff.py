"""``manage.py ensure_dev_staff``: a known staff login for local development only."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from resourcemap.reference import editor_group_name, ensure_staff_groups
from resourcemap.security import DEV_STAFF_PASSWORD as PASSWORD

USERNAME = "admin"


class Command(BaseCommand):
    help = "Create or update the development staff login admin / admin-pass-1234 (DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                _(
                    "ensure_dev_staff は開発用です（DEBUG=1 のときだけ使えます）。"
                    "本番では manage.py createsuperuser で担当者ごとのアカウントを作ってください。"
                )
            )
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=USERNAME)
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(PASSWORD)
        user.save()
        group = Group.objects.filter(name=editor_group_name()).first()
        if group is None:
            ensure_staff_groups()
            group = Group.objects.get(name=editor_group_name())
        user.groups.add(group)
        try:
            admin_path = reverse("admin:index")
        except NoReverseMatch:
            admin_path = "/admin/"
        self.stdout.write(
            _("管理画面: %(url)s ユーザー名 %(user)s / パスワード %(password)s (development only)")
            % {"url": settings.SITE_URL + admin_path, "user": USERNAME, "password": PASSWORD}
        )
