from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from resourcemap import api, indicators_views, opendata_views, print_views, shortlist_views, views
from resourcemap.context_processors import staff_menu_title

admin.site.site_header = "在宅療養資源マップ 管理画面"
admin.site.site_title = "在宅療養資源マップ 管理"
admin.site.index_title = staff_menu_title  # e.g. 区職員メニュー, from the municipality data

urlpatterns = indicators_views.admin_urlpatterns + [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/providers.geojson", api.providers_geojson, name="api_geojson"),
    path("api/providers.json", api.providers_json, name="api_json"),
    path("api/geocode", api.geocode, name="api_geocode"),
    path("api/places", api.places, name="api_places"),
    path("api/areas", api.areas, name="api_areas"),
    path("opendata/providers.csv", opendata_views.providers_csv, name="opendata_csv"),
    path("opendata/indicators.csv", indicators_views.public_csv, name="opendata_indicators_csv"),
]

urlpatterns += i18n_patterns(
    path("", views.map_page, name="map"),
    path("providers/<id:pk>/", views.provider_detail, name="provider_detail"),
    path("", include("surveys.urls")),
    path("shortlist/", shortlist_views.shortlist, name="shortlist"),
    path("print/", print_views.print_preview, name="print_preview"),
    path("print/pdf/", print_views.print_pdf, name="print_pdf"),
    path("providers/<id:pk>/sheet/", print_views.provider_sheet, name="provider_sheet"),
    path("providers/<id:pk>/sheet/pdf/", print_views.provider_sheet_pdf, name="provider_sheet_pdf"),
    path("opendata/", opendata_views.opendata_page, name="opendata"),
    path("indicators/", indicators_views.public_page, name="indicators"),
    path("flyer/", print_views.flyer, name="flyer"),
    path("flyer/pdf/", print_views.flyer_pdf, name="flyer_pdf"),
    path("flyer/qr.svg", print_views.flyer_qr_svg, name="flyer_qr_svg"),
    path("flyer/qr.png", print_views.flyer_qr_png, name="flyer_qr_png"),
    path("flyer/<slug:slug>/", print_views.flyer, name="flyer_variant"),
    path("flyer/<slug:slug>/pdf/", print_views.flyer_pdf, name="flyer_pdf"),
    path("flyer/<slug:slug>/qr.svg", print_views.flyer_qr_svg, name="flyer_qr_svg"),
    path("flyer/<slug:slug>/qr.png", print_views.flyer_qr_png, name="flyer_qr_png"),
    prefix_default_language=False,
)
