"""URL patterns of the school's pages pages (included by hocba.urls_school)."""

urlpatterns: list = []
