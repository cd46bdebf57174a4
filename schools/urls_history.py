"""URL patterns of the school's history pages (included by hocba.urls_school)."""

urlpatterns: list = []
