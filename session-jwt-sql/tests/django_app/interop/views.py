"""The reference app's routes, the Django way (docs/reference-app.md)."""

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST


def extra_claims(user):
    """django-session-jwt's CALLABLE: the reference app's custom claim."""
    return {"foo": "bar"}


def _login_required(request, path):
    if request.user.is_authenticated:
        return None
    return HttpResponseRedirect("/login?next=" + path)


@csrf_exempt
@require_POST
def login_view(request):
    user = authenticate(
        request,
        username=request.POST.get("username", ""),
        password=request.POST.get("password", ""),
    )
    if user is None:
        return HttpResponse("Failed", status=401)
    login(request, user)
    request.session["test"] = "This value should be present"
    request.session["django"] = "set by Django"
    return HttpResponse("OK")


@csrf_exempt
@require_POST
def logout_view(request):
    logout(request)
    return HttpResponse("OK")


@require_GET
def me(request):
    redirect = _login_required(request, "/me")
    if redirect:
        return redirect
    user = request.user
    return JsonResponse({"id": user.id, "username": user.username, "email": user.email})


@require_GET
def get(request):
    # Internal items, and django-session-jwt's per-request copy of the
    # token's claims, are left out.
    items = {k: v for k, v in request.session.items() if not k.startswith("_") and k != "jwt"}
    return JsonResponse(items)


@csrf_exempt
@require_POST
def set_view(request):
    for name, value in request.POST.items():
        request.session[name] = value
    return HttpResponse("OK")


@csrf_exempt
@require_POST
def password(request):
    redirect = _login_required(request, "/password")
    if redirect:
        return redirect
    user = request.user
    old, new = request.POST.get("old", ""), request.POST.get("new", "")
    if not user.check_password(old) or not new:
        return HttpResponse("Bad password", status=400)
    user.set_password(new)
    user.save()
    update_session_auth_hash(request, user)
    return HttpResponse("OK")
