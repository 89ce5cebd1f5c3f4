"""Django's tasks framework: ``django.tasks`` from Django 6, the ``django_tasks`` backport before."""

try:  # pragma: no cover - Django 6+
    from django.tasks import default_task_backend, task, task_backends
except ImportError:
    from django_tasks import default_task_backend, task, task_backends

__all__ = ["default_task_backend", "task", "task_backends"]
