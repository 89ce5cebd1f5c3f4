"""The survey contact of providers (PRIVATE_FIELDS) needs its own permission; the existing
区職員（編集） group keeps seeing it, 区職員（閲覧） no longer does."""

from django.db import migrations

EDITOR_GROUP = "区職員（編集）"
CODENAME = "access_private_contact"
NAME = "調査の連絡先（非公開）を見る・書き出す"


def grant_editors(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    editor = Group.objects.filter(name=EDITOR_GROUP).first()
    if editor is None:  # a new database: load_reference makes the groups
        return
    content_type, _created = ContentType.objects.get_or_create(app_label="resourcemap", model="provider")
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    editor.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ("resourcemap", "0013_external_id_same_as"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="provider",
            options={
                "ordering": ["kana", "pk"],
                "permissions": [(CODENAME, NAME)],
                "verbose_name": "事業所",
                "verbose_name_plural": "事業所",
            },
        ),
        migrations.RunPython(grant_editors, migrations.RunPython.noop),
    ]
