from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    # Inside i18n_patterns without a language prefix this is the site's /robots.txt.
    path("robots.txt", views.robots_txt, name="robots"),
    path("survey/", views.start, name="start"),
    path("survey/t/<str:token>/", views.open_link, name="open"),
    path("survey/form/", views.survey_form, name="form"),
    path("survey/done/", views.done, name="done"),
    path("survey/leave/", views.leave, name="leave"),
    path("survey/register/", views.register, name="register"),
    path("survey/register/done/", views.register_done, name="register_done"),
    path("providers/<id:pk>/correction/", views.report_correction, name="correction"),
    path("providers/<id:pk>/correction/done/", views.correction_done, name="correction_done"),
]
