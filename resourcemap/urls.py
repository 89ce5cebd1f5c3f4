from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from resourcemap import api, views

admin.site.site_header = "在宅療養資源マップ 管理画面"
admin.site.site_title = "在宅療養資源マップ 管理"
admin.site.index_title = "区職員メニュー"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/providers.geojson", api.providers_geojson, name="api_geojson"),
    path("api/providers.json", api.providers_json, name="api_json"),
    path("api/geocode", api.geocode, name="api_geocode"),
]

urlpatterns += i18n_patterns(
    path("", views.map_page, name="map"),
    path("providers/<int:pk>/", views.provider_detail, name="provider_detail"),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
