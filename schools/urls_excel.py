"""URL patterns of the school's excel pages (included by hocba.urls_school)."""

urlpatterns: list = []
