import pytest
from django.contrib.auth.models import Group

from resourcemap.models import Area, Capability, Municipality, ProviderType
from resourcemap.reference import editor_group_name, load_reference, viewer_group_name

pytestmark = pytest.mark.django_db

EXPECTED_DISTRICTS = {
    "世田谷": ["池尻", "太子堂", "若林", "上町", "経堂", "下馬", "上馬"],
    "北沢": ["梅丘", "代沢", "新代田", "北沢", "松原", "松沢"],
    "玉川": ["奥沢", "九品仏", "等々力", "上野毛", "用賀", "二子玉川", "深沢"],
    "砧": ["祖師谷", "成城", "船橋", "喜多見", "砧"],
    "烏山": ["上北沢", "上祖師谷", "烏山"],
}


def test_setagaya_municipality():
    muni = Municipality.current()
    assert (muni.code, muni.name, muni.prefecture) == ("131121", "世田谷区", "東京都")
    assert muni.contains(muni.center_lat, muni.center_lng)
    assert not muni.contains(35.6812, 139.7671)  # Tokyo station, outside the ward
    assert not muni.contains(35.6580, 139.7016)  # Shibuya station, just east of the ward
    # Inside the bounding box but outside the outline: 幡ヶ谷 (Shibuya) and 登戸 (Kawasaki).
    assert not muni.contains(35.6880, 139.6900)
    assert not muni.contains(35.5950, 139.5800)


def test_five_regions_with_their_28_districts_inside_the_ward():
    muni = Municipality.current()
    regions = Area.objects.filter(level=Area.Level.REGION).order_by("sort_order")
    assert [r.name for r in regions] == list(EXPECTED_DISTRICTS)
    for region in regions:
        districts = list(region.districts.order_by("sort_order"))
        assert [d.name for d in districts] == EXPECTED_DISTRICTS[region.name]
        for district in districts:
            assert muni.contains(district.center_lat, district.center_lng), district.name
    assert Area.objects.filter(level=Area.Level.DISTRICT).count() == 28


def test_types_and_capabilities():
    names = set(ProviderType.objects.values_list("name", flat=True))
    for expected in ["病院", "診療所", "歯科診療所", "薬局", "訪問看護ステーション", "居宅介護支援事業所",
                     "訪問介護", "訪問リハビリテーション", "看護小規模多機能型居宅介護",
                     "定期巡回・随時対応型訪問介護看護"]:
        assert expected in names
    assert ProviderType.objects.get(code="houkatsu").group == ProviderType.Group.CONSULT
    assert ProviderType.objects.get(code="nursing").service_code == "130"
    # Every type has a distinct marker shape so the map does not rely on colour alone.
    shapes = list(ProviderType.objects.values_list("shape", flat=True))
    assert len(shapes) == len(set(shapes))
    mitori = Capability.objects.get(code="mitori")
    assert mitori.has_count and mitori.count_label
    assert set(mitori.provider_types.values_list("code", flat=True)) >= {"clinic", "nursing"}
    assert not Capability.objects.get(code="home_pharmacy").provider_types.filter(code="clinic").exists()
    for capability in Capability.objects.all():
        assert capability.description, capability.code
        assert capability.provider_types.exists(), capability.code


def test_loading_twice_changes_nothing_and_creates_groups():
    before = (Area.objects.count(), ProviderType.objects.count(), Capability.objects.count())
    load_reference()
    after = (Area.objects.count(), ProviderType.objects.count(), Capability.objects.count())
    assert before == after == (33, 11, 22)
    editor = Group.objects.get(name=editor_group_name())
    viewer = Group.objects.get(name=viewer_group_name())
    assert editor.permissions.filter(codename="change_provider").exists()
    assert not editor.permissions.filter(codename="delete_provider").exists()
    assert viewer.permissions.filter(codename="view_provider").exists()
    assert not viewer.permissions.filter(codename="change_provider").exists()


def test_map_title_follows_the_language(client):
    from resourcemap.models import Municipality

    assert Municipality.current().map_title_en == "Setagaya Home Care Resource Map"
    assert "<title>世田谷区在宅療養資源マップ" in client.get("/").content.decode()
    english = client.get("/en/").content.decode()
    assert "<title>Setagaya Home Care Resource Map" in english
