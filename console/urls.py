"""Root URLs: the console pages, the API, the admin, the health check, /metrics and the
metrics and storage apps' pages and endpoints."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from nodes.metrics import views as metrics

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("nodes.metrics.urls")),
    path("", include("nodes.storage.urls")),
    path("api/", include("nodes.api.urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("nodes.urls")),
]

handler404 = "nodes.api.errors.not_found"
