"""Routes of the POSX contract (docs/CONTRACT.md). Errors answer JSON, never an HTML page."""
from django.http import JsonResponse
from django.urls import path

from apps.orders import views as orders
from apps.webhooks.views import stripe_webhook_view

urlpatterns = [
    path("api/v1/webhooks/stripe/", stripe_webhook_view, name="stripe_webhook"),
    path("api/v1/orders/", orders.create_order, name="create_order"),
    path("api/v1/orders/<str:order_id>/", orders.order_detail, name="order_detail"),
    path("api/v1/tiers/", orders.list_tiers, name="tiers"),
    path("health/", orders.health, name="health"),
]


def not_found(request, exception=None):
    return JsonResponse({"error": "Not found: %s" % request.path}, status=404)


def bad_request(request, exception=None):
    return JsonResponse({"error": "Bad request"}, status=400)


def server_error(request):
    return JsonResponse({"error": "Internal server error"}, status=500)


handler400 = bad_request
handler404 = not_found
handler500 = server_error
