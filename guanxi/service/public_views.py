"""Customer-facing pages (no login): the ticket status page behind its signed link, the downloads of its
public attachments, and the public complaint form.

The status link is the customer's only credential, so every answer that can carry it or the ticket's
content is kept out of caches, search engines and other sites' Referer logs (`_private`). A bad, revoked
or replaced link gets the same 404 whether the ticket exists or not. The page works without JavaScript;
its POSTs carry Django's CSRF token and are rate-limited per IP.

Language: ?lang=en|zh-hans, else the ticket's language (status page) or the browser's (complaint form),
applied with translation.override only — the session language of a logged-in staff member who opens the
link is left alone.

The complaint form is a page of its own, linked from the company's website, not embedded in other sites
the way the web-to-lead form is: so unlike that form it keeps Django's CSRF protection and the default
refusal to be framed (clickjacking), and needs no signed form token of its own.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.framework.ratelimit import over_limit

from .choices import MessageKind, TicketChannel, TicketEventKind, TicketKind, TicketStatus
from .models import TicketAttachment
from .public_forms import ComplaintForm, RatingForm, ReplyForm
from .ticket_services import (
    TicketStateError,
    customer_visible_messages,
    status_token,
    ticket_create,
    ticket_customer_reply,
    ticket_from_token,
    ticket_rate,
)

LANGUAGES = {"en": "en", "zh": "zh-hans", "zh-hans": "zh-hans", "zh-cn": "zh-hans"}

# The customer's view of the workflow: one step per stage they care about.
STEPS = [
    ("submitted", gettext_lazy("Submitted")),
    ("handling", gettext_lazy("Being handled")),
    ("waiting", gettext_lazy("Waiting for you")),
    ("resolved", gettext_lazy("Resolved")),
    ("closed", gettext_lazy("Closed")),
]
STEP_OF_STATUS = {
    TicketStatus.NEW: 0, TicketStatus.ASSIGNED: 0, TicketStatus.IN_PROGRESS: 1, TicketStatus.WAITING: 2,
    TicketStatus.RESOLVED: 3, TicketStatus.CLOSED: 4,
}
CUSTOMER_STATUS = {
    TicketStatus.NEW: gettext_lazy("Submitted"), TicketStatus.ASSIGNED: gettext_lazy("Submitted"),
    TicketStatus.IN_PROGRESS: gettext_lazy("Being handled"), TicketStatus.WAITING: gettext_lazy("Waiting for you"),
    TicketStatus.RESOLVED: gettext_lazy("Resolved"), TicketStatus.CLOSED: gettext_lazy("Closed"),
}


def support_rate_limit():
    return (getattr(settings, "GUANXI_SUPPORT_RATE_LIMIT", 20), getattr(settings, "GUANXI_SUPPORT_RATE_WINDOW", 600))


def complaint_rate_limit():
    return (getattr(settings, "GUANXI_COMPLAINT_RATE_LIMIT", getattr(settings, "GUANXI_WEB_FORM_RATE_LIMIT", 5)),
            getattr(settings, "GUANXI_COMPLAINT_RATE_WINDOW", getattr(settings, "GUANXI_WEB_FORM_RATE_WINDOW", 600)))


def _language(request, default):
    code = (request.GET.get("lang") or "").strip().lower()
    return LANGUAGES.get(code) or LANGUAGES.get((default or "").lower()) or settings.LANGUAGE_CODE


def _private(response):
    """The URL is the secret: no caching, no indexing, no Referer to the sites the page links to.

    "same-origin", not "no-referrer": under "no-referrer" browsers send `Origin: null` with the page's own
    POSTs, which Django's CSRF check refuses (403) — the form and the status page could not be sent."""
    response["Cache-Control"] = "private, no-store, max-age=0"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _with_lang(url, language):
    return f"{url}?lang={language}"


# -- the status page ---------------------------------------------------------------------------------


def _invalid(request, language):
    with translation.override(language):
        response = render(request, "service/public_invalid.html", {"language": language}, status=404)
    return _private(response)


def _history(ticket):
    """The steps the customer sees, with times: creation, the hand-over to an agent (never who), status
    changes and the rating. Escalations, SLA events and link revocations stay internal."""
    steps = []
    for event in ticket.events.order_by("at", "id"):
        if event.kind == TicketEventKind.CREATED:
            steps.append((event.at, _("We received your request.")))
        elif event.kind == TicketEventKind.ASSIGNED and event.data.get("owner"):
            steps.append((event.at, _("An agent is taking care of your request.")))
        elif event.kind == TicketEventKind.STATUS:
            new = event.data.get("new")
            if event.data.get("reopened"):
                steps.append((event.at, _("Your request was reopened.")))
            elif new in CUSTOMER_STATUS and new not in (TicketStatus.NEW, TicketStatus.ASSIGNED):
                steps.append((event.at, _("Status: %(status)s") % {"status": CUSTOMER_STATUS[new]}))
        elif event.kind == TicketEventKind.RATED:
            steps.append((event.at, _("You rated our service.")))
    # Consecutive duplicates (e.g. two status events that look the same to the customer) read as noise.
    return [s for i, s in enumerate(steps) if i == 0 or s[1] != steps[i - 1][1]]


def _public_attachments(ticket):
    """{message id or None: [attachments]} of what the customer may download: public files that are not
    on an internal note."""
    rows = (TicketAttachment.objects.filter(ticket=ticket, is_public=True)
            .exclude(message__kind=MessageKind.NOTE).order_by("created_at", "id"))
    grouped = {}
    for row in rows:
        grouped.setdefault(row.message_id, []).append(row)
    return grouped


def _conversation(ticket, attachments):
    entries = []
    for message in customer_visible_messages(ticket):
        mine = message.kind == MessageKind.CUSTOMER
        entries.append({
            "mine": mine, "at": message.created_at, "body": message.body,
            # The agent by display name only (stored with the message); never their account's other data.
            "author": _("You") if mine else (message.author_name or _("Customer service")),
            "attachments": attachments.get(message.pk, []),
        })
    return entries


def _rated(ticket):
    return ticket.csat_at is not None and (ticket.resolved_at is None or ticket.csat_at >= ticket.resolved_at)


def _status_context(ticket, token, language, reply_form=None, rating_form=None, notice="", error=""):
    attachments = _public_attachments(ticket)
    step = STEP_OF_STATUS.get(ticket.status, 0)
    can_rate = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and not _rated(ticket)
    url = reverse("service_public:status", args=[token])
    return {
        "ticket": ticket, "token": token, "language": language, "url": url, "action": _with_lang(url, language),
        # "Waiting for you" is a detour, not a stage every ticket passes: it is never shown as done.
        "steps": [{"label": label, "done": i < step and key != "waiting", "current": i == step}
                  for i, (key, label) in enumerate(STEPS)],
        "status_label": CUSTOMER_STATUS.get(ticket.status, ""),
        "history": _history(ticket), "conversation": _conversation(ticket, attachments),
        "request_attachments": attachments.get(None, []),
        "can_reply": ticket.status != TicketStatus.CLOSED, "reopens": ticket.status == TicketStatus.RESOLVED,
        "can_rate": can_rate, "rated": _rated(ticket),
        "reply_form": reply_form or ReplyForm(), "rating_form": rating_form or RatingForm(),
        "notice": notice, "error": error, "other_language": "en" if language == "zh-hans" else "zh-hans",
    }


NOTICES = {
    "reply": gettext_lazy("Thank you, your message was sent."),
    "rated": gettext_lazy("Thank you for your rating!"),
}


@require_http_methods(["GET", "POST"])
def status_page(request, token):
    ticket = ticket_from_token(token)
    if ticket is None:
        return _invalid(request, _language(request, ""))
    language = _language(request, ticket.language)
    with translation.override(language):
        if request.method == "GET":
            notice = NOTICES.get(request.GET.get("done", ""), "")
            return _private(render(request, "service/public_status.html",
                                   _status_context(ticket, token, language, notice=notice)))
        return _private(_status_post(request, ticket, token, language))


def _status_post(request, ticket, token, language):
    action = request.POST.get("action")
    if over_limit(request, "support", *support_rate_limit()):
        return render(request, "service/public_status.html", _status_context(
            ticket, token, language,
            error=_("Too many requests from your network. Please try again later.")), status=429)
    done_url = _with_lang(reverse("service_public:status", args=[token]), language)
    # A refused command (closed ticket, already rated…) is said on top: its form may no longer be shown.
    error = ""
    if action == "reply":
        form = ReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                ticket_customer_reply(ticket=ticket, body=form.cleaned_data["body"], files=form.cleaned_data["files"])
            except TicketStateError as e:
                error = e.message
            except ValidationError as e:
                _add_errors(form, e)
            else:
                return HttpResponseRedirect(done_url + "&done=reply")
        return render(request, "service/public_status.html",
                      _status_context(ticket, token, language, reply_form=form, error=error), status=422)
    if action == "rate":
        form = RatingForm(request.POST)
        if form.is_valid():
            try:
                ticket_rate(ticket=ticket, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"])
            except TicketStateError as e:
                error = e.message
            except ValidationError as e:
                _add_errors(form, e)
            else:
                return HttpResponseRedirect(done_url + "&done=rated")
        return render(request, "service/public_status.html",
                      _status_context(ticket, token, language, rating_form=form, error=error), status=422)
    return render(request, "service/public_status.html",
                  _status_context(ticket, token, language, error=_("Unknown action.")), status=400)


def _add_errors(form, error):
    """A service's ValidationError on the form: on the field it names when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@require_GET
def status_attachment(request, token, pk):
    """A public attachment of the ticket the link opens (never one on an internal note or of another
    ticket), always as a download so that an uploaded HTML file cannot run in our origin."""
    ticket = ticket_from_token(token)
    if ticket is None:
        return _invalid(request, _language(request, ""))
    row = (TicketAttachment.objects.filter(pk=pk, ticket=ticket, is_public=True)
           .exclude(message__kind=MessageKind.NOTE).first())
    if row is None:
        raise Http404
    try:
        handle = row.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=row.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return _private(response)


# -- the public complaint form -----------------------------------------------------------------------


def _matching_contact(email, phone):
    """The contact the customer is (the oldest with their email), or None. The phone number decides only
    when no email was given: with an email that is not the contact's, the acknowledgement and the link
    would go to the contact's address instead of the person who wrote."""
    from guanxi.customers.filtersets import contact_email_q, contact_phone_q
    from guanxi.customers.models import Contact

    if email:
        return Contact.objects.filter(contact_email_q(email)).order_by("pk").first()
    if phone:
        return Contact.objects.filter(contact_phone_q(phone)).order_by("pk").first()
    return None


def _complaint_fields(cd):
    from guanxi.integrations.email_out import email_default_account

    contact = _matching_contact(cd["email"], cd["phone"])
    name = cd["name"]
    if cd["company_name"].strip():  # the ticket has no free-text company: keep it with the name
        name = f"{name}（{cd['company_name'].strip()}）" if name else cd["company_name"].strip()
    return {
        "kind": TicketKind.COMPLAINT, "channel": TicketChannel.WEB, "subject": cd["subject"].strip(),
        "description": cd["description"].strip(), "customer_name": name[:100], "customer_email": cd["email"],
        "customer_phone": cd["phone"], "language": cd["language"], "category": cd["category"],
        "product": cd["product"].strip(), "order_ref": cd["order_ref"].strip(), "contact": contact,
        "account": email_default_account(actor=None, contact=contact) if contact else None,
    }


@require_http_methods(["GET", "POST"])
def complaint_form(request):
    language = _language(request, translation.get_language())
    with translation.override(language):
        context = {"language": language, "other_language": "en" if language == "zh-hans" else "zh-hans",
                   "action": _with_lang(reverse("service_public:complaint_form"), language)}
        if request.method == "GET":
            form = ComplaintForm(initial={"language": language})
            return _private(render(request, "service/public_complaint.html", {**context, "form": form}))
        if over_limit(request, "complaint", *complaint_rate_limit()):
            form = ComplaintForm(request.POST)
            context["error"] = _("Too many submissions from your network. Please try again later.")
            return _private(render(request, "service/public_complaint.html", {**context, "form": form}, status=429))
        form = ComplaintForm(request.POST, request.FILES)
        if form.is_spam:  # looks the same as a success, saves nothing
            return _private(render(request, "service/public_complaint_thanks.html", context))
        files_sent = any(isinstance(f, UploadedFile) for f in request.FILES.getlist("files"))
        if form.is_valid():
            try:
                ticket = ticket_create(actor=None, fields=_complaint_fields(form.cleaned_data),
                                       files=form.cleaned_data["files"])
            except ValidationError as e:
                _add_errors(form, e)
            else:
                link = ""
                # A known customer's link goes only to their address on file: whoever typed their email
                # here has not shown that it is theirs, and the page will carry the agents' answers.
                if ticket.contact_id is None:
                    token = status_token(ticket)
                    link = request.build_absolute_uri(
                        _with_lang(reverse("service_public:status", args=[token]), ticket.language))
                return _private(render(request, "service/public_complaint_thanks.html",
                                       {**context, "ticket": ticket, "link": link}))
        context["files_lost"] = files_sent  # a browser cannot re-fill file inputs: say so
        return _private(render(request, "service/public_complaint.html", {**context, "form": form}, status=422))

