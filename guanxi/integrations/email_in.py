"""Email in: a periodic job reads new messages from each enabled IMAP mailbox and logs them on the
timelines of the contacts they involve.

- Incremental: the mailbox keeps the highest UID imported and the folder's UIDVALIDITY; a run fetches
  at most `batch_limit` newer messages (BODY.PEEK, read-only: nothing is marked read on the server).
  A changed UIDVALIDITY (folder recreated) restarts from the beginning.
- Never twice: an interaction's Message-ID is unique (messages without one get a stable hash), so a
  re-run, a restarted cursor, two workers or the same message in two mailboxes import it once.
- One bad message does not stop the others: each message is imported in its own transaction; a
  failure is recorded on the mailbox (last error) and the cursor moves past it. Only a database
  failure stops the batch where it is, to be retried by the next run.
- Matching: From/To/Cc addresses against contacts' emails (stored lower-case, compared lower-case).
  A personal mailbox matches only contacts its owner may see; a shared one matches every contact.
  A message that involves no contact goes to `email_unmatched` (a hook: today it skips the message).
- A service mailbox (`creates_tickets`) files messages as tickets instead (service.intake): a new ticket,
  or the customer's reply on their ticket. Not also as an interaction: the ticket already holds the
  message, its contact and company, and the agents answer it there; a second copy on the timeline
  would be owned by nobody and answered from the wrong place.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.choices import Direction, InteractionKind
from guanxi.activities.models import Attachment, Interaction
from guanxi.customers.models import Contact

from .crypto import PasswordUnreadable
from .email_out import email_default_account
from .email_parse import parse_email
from .models import Mailbox

log = logging.getLogger(__name__)

BATCH_LIMIT = getattr(settings, "GUANXI_EMAIL_SYNC_BATCH", 200)
FETCH_CHUNK = 20
MAX_MESSAGE_BYTES = getattr(settings, "GUANXI_EMAIL_MAX_MESSAGE_BYTES", 30 * 1024 * 1024)
MAX_ATTACHMENT_BYTES = getattr(settings, "GUANXI_EMAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
IMAP_TIMEOUT = 30
# A sync claimed this long ago is taken to have died with its worker.
STALE_CLAIM = timedelta(minutes=15)
CONTENT_MAX = 100_000
ERRORS_KEPT = 10


@dataclass
class SyncResult:
    imported: int = 0
    duplicates: int = 0
    unmatched: int = 0
    failed: int = 0
    more: bool = False  # messages left for the next run (batch limit reached)
    error: str = ""  # the mailbox could not be read (connection, login, folder)
    message_errors: list = field(default_factory=list)


# -- one message ------------------------------------------------------------------------------------


def _own_addresses(mailbox):
    own = {mailbox.address, mailbox.username if "@" in mailbox.username else "",
           mailbox.owner.email if mailbox.owner_id else ""}
    return {a.strip().lower() for a in own if a and a.strip()}


def _visible_contacts(mailbox):
    if mailbox.owner_id:
        return Contact.objects.restrict(mailbox.owner, "view")
    return Contact.objects.all()


def match_contacts(mailbox, parsed, direction):
    """Contacts involved in the message, most relevant first: for a received message the sender, then
    the other recipients; for a sent one the recipients. The mailbox's own addresses never match."""
    own = _own_addresses(mailbox)
    order = ([parsed.from_address] if direction == Direction.INBOUND else []) + parsed.to + parsed.cc
    order = [a for i, a in enumerate(order) if a and a not in own and a not in order[:i]]
    if not order:
        return []
    found = list(_visible_contacts(mailbox).filter(email__in=order).order_by("pk"))
    rank = {a: i for i, a in enumerate(order)}
    return sorted(found, key=lambda c: (rank.get(c.email, len(order)), c.pk))


def thread_key_for(parsed):
    """The thread a message joins: that of the earliest message it refers to that we have (received or
    sent by us), else the thread root it names, else a new thread of its own."""
    ids = parsed.thread_ids
    if ids:
        known = dict(Interaction.all_objects.filter(message_id__in=ids).values_list("message_id", "thread_key"))
        for mid in ids:
            if mid in known:
                return known[mid] or mid
        return ids[0]
    return parsed.message_id


def email_unmatched(*, mailbox, parsed):
    """Hook for a message that involves no known contact. Today it is skipped (returns None); the sales
    issue turns unknown senders into leads here."""
    return None


def _content(parsed, skipped):
    text = parsed.text
    notes = [_("Attachment “%(name)s” (%(size)d bytes) was not imported: it is larger than the limit.")
             % {"name": name, "size": size} for name, size in skipped]
    if notes:
        text = (text + "\n\n" + "\n".join(notes)).strip()
    if len(text) > CONTENT_MAX:
        note = _("[Message shortened: it is longer than %(n)d characters.]") % {"n": CONTENT_MAX}
        text = text[: CONTENT_MAX - len(note) - 2] + "\n\n" + note
    return text


def email_import(*, mailbox, raw):
    """Log one raw message from `mailbox`. Returns "imported", "duplicate" or "unmatched"; raises when
    the message cannot be read. One transaction: the interaction, its attachments, its audit row."""
    from guanxi.activities.services import interaction_log

    parsed = parse_email(raw)
    if mailbox.creates_tickets:
        return _email_to_ticket(mailbox, parsed, raw)
    if Interaction.all_objects.filter(message_id=parsed.message_id).exists():
        return "duplicate"
    direction = Direction.OUTBOUND if parsed.from_address in _own_addresses(mailbox) else Direction.INBOUND
    contacts = match_contacts(mailbox, parsed, direction)
    if not contacts:
        email_unmatched(mailbox=mailbox, parsed=parsed)
        return "unmatched"
    contact = contacts[0]
    kept, skipped = [], []
    for attachment in parsed.attachments:
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            skipped.append((attachment.filename, len(attachment.data)))
        else:
            kept.append(attachment)
    saved_files = []
    try:
        with transaction.atomic():
            interaction = interaction_log(
                actor=None, owner=mailbox.owner, kind=InteractionKind.EMAIL, contact=contact,
                account=email_default_account(actor=mailbox.owner, contact=contact), participant_contacts=contacts[1:],
                occurred_at=min(parsed.date, timezone.now()) if parsed.date else timezone.now(),
                direction=direction, subject=parsed.subject[:300], content=_content(parsed, skipped),
                message_id=parsed.message_id, in_reply_to=parsed.in_reply_to, thread_key=thread_key_for(parsed),
                email_from=parsed.from_address[:320], email_to=", ".join(parsed.to + parsed.cc)[:5000],
            )
            for attachment in kept:
                row = Attachment(interaction=interaction, filename=attachment.filename,
                                 content_type=attachment.content_type[:100], size=len(attachment.data),
                                 sha256=hashlib.sha256(attachment.data).hexdigest())
                row.file.save(attachment.filename, ContentFile(attachment.data), save=False)
                saved_files.append(row.file.name)
                row.save()
    except (IntegrityError, ValidationError):
        _delete_files(saved_files)
        # Another worker imported the same message meanwhile (the unique Message-ID refused ours).
        if Interaction.all_objects.filter(message_id=parsed.message_id).exists():
            return "duplicate"
        raise
    except BaseException:
        _delete_files(saved_files)
        raise
    return "imported"


def is_auto_submitted(raw):
    """An auto-reply, bounce or list message (RFC 3834 Auto-Submitted, Precedence, the null sender's
    daemons): a service mailbox files it but does not answer it, so that two robots cannot loop."""
    from email.parser import BytesHeaderParser

    headers = BytesHeaderParser().parsebytes(raw)
    auto = str(headers.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(headers.get("Precedence", "")).strip().lower()
    sender = str(headers.get("From", "")).lower()
    return (auto not in ("", "no") or precedence in ("bulk", "junk", "list", "auto_reply")
            or "mailer-daemon@" in sender or "postmaster@" in sender or bool(headers.get("X-Autoreply"))
            or bool(headers.get("X-Autorespond")))


def _email_to_ticket(mailbox, parsed, raw):
    """A service mailbox's message: the customer's reply on their ticket, or a new ticket. Messages from
    the mailbox's own address (our own sent mail in a synced folder) are not customers writing."""
    from guanxi.service.intake import ticket_from_email

    if parsed.from_address in _own_addresses(mailbox):
        return "unmatched"
    return ticket_from_email(mailbox=mailbox, parsed=parsed, auto_submitted=is_auto_submitted(raw))


def _delete_files(names):
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete %s after a failed import", name)


# -- one mailbox ------------------------------------------------------------------------------------


def _claim(pk, now):
    return Mailbox.objects.filter(pk=pk, enabled=True).filter(
        Q(sync_started_at__isnull=True) | Q(sync_started_at__lt=now - STALE_CLAIM)
    ).update(sync_started_at=now)


def _describe(exc):
    # imaplib's errors carry the server's answer as bytes.
    args = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args]
    text = " ".join(a.strip() for a in args if a.strip()) or str(exc).strip() or type(exc).__name__
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text, flags=re.S)  # str(b"...") from imapclient's LoginError
    return (quoted.group(2) if quoted else text)[:500]


def _fetch_raw(client, uids):
    """{uid: raw bytes} for `uids`; a message over the size limit comes as its headers only."""
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [u for u in uids if sizes.get(u, {}).get(b"RFC822.SIZE", 0) <= MAX_MESSAGE_BYTES]
    large = [u for u in uids if u not in small]
    found = {}
    if small:
        for uid, data in client.fetch(small, ["BODY.PEEK[]"]).items():
            found[uid] = data.get(b"BODY[]")
    if large:
        for uid, data in client.fetch(large, ["BODY.PEEK[HEADER]"]).items():
            header = data.get(b"BODY[HEADER]") or b""
            note = _("(This message is larger than %(mb)d MB; only its headers were imported.)") % {
                "mb": MAX_MESSAGE_BYTES // (1024 * 1024)}
            found[uid] = header.rstrip(b"\r\n") + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + \
                note.encode("utf-8")
    return found


def _sync(mailbox, result, batch_limit):
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    password = mailbox.get_password()
    with IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.use_ssl, timeout=IMAP_TIMEOUT) as client:
        try:
            client.login(mailbox.username, password)
        except LoginError as e:
            raise _MailboxError(_("The server refused the login: %(error)s") % {"error": _describe(e)})
        try:
            info = client.select_folder(mailbox.folder, readonly=True)
        except IMAPClientError as e:
            raise _MailboxError(_("Folder “%(folder)s” cannot be opened: %(error)s")
                                % {"folder": mailbox.folder, "error": _describe(e)})
        uidvalidity = int(info.get(b"UIDVALIDITY") or 0)
        if mailbox.uidvalidity != uidvalidity:
            # A new folder (or one recreated on the server): its UIDs start again. Message-IDs keep
            # what was already imported from being imported again.
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
        uids = sorted(u for u in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if u > mailbox.last_uid)
        result.more = len(uids) > batch_limit
        uids = uids[:batch_limit]
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            raws = _fetch_raw(client, chunk)
            for uid in chunk:
                _import_one(mailbox, result, uid, raws.get(uid))


def _import_one(mailbox, result, uid, raw):
    try:
        if raw is None:
            raise ValueError(_("the server returned no content"))
        with transaction.atomic():
            outcome = email_import(mailbox=mailbox, raw=raw)
            Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)
    except (OperationalError, InterfaceError):
        raise  # the database, not the message: stop here and let the next run retry from this UID
    except Exception as e:  # a message that cannot be read: record it and go on with the others
        log.warning("mailbox %s: message UID %s not imported", mailbox.pk, uid, exc_info=True)
        result.failed += 1
        result.message_errors.append(_("Message UID %(uid)s could not be imported: %(error)s")
                                     % {"uid": uid, "error": f"{type(e).__name__}: {_describe(e)}"[:300]})
        Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)
    else:
        if outcome == "imported":
            result.imported += 1
        elif outcome == "duplicate":
            result.duplicates += 1
        else:
            result.unmatched += 1
    mailbox.last_uid = uid


class _MailboxError(Exception):
    pass


def mailbox_sync(*, pk, batch_limit=None, now=None):
    """Import new messages of one mailbox; returns a SyncResult, or None when the mailbox is disabled,
    gone, or being synced by another worker. Records the outcome (last sync, last error, count)."""
    now = now or timezone.now()
    if not _claim(pk, now):
        return None
    result = SyncResult()
    mailbox = Mailbox.objects.select_related("owner").get(pk=pk)
    try:
        _sync(mailbox, result, batch_limit or BATCH_LIMIT)
    except _MailboxError as e:
        result.error = str(e)
    except PasswordUnreadable:
        result.error = _("The stored password cannot be read (the site's secret key changed): enter it again.")
    except DatabaseError as e:
        result.error = _("The import stopped on a database error and will be retried: %(error)s") % {
            "error": _describe(e)}
    except OSError as e:  # refused, unreachable, timed out, TLS failure
        result.error = _("Cannot connect to %(host)s:%(port)s: %(error)s") % {
            "host": mailbox.host, "port": mailbox.port, "error": _describe(e)}
    except Exception as e:  # the IMAP conversation went wrong (protocol error, aborted connection...)
        log.warning("mailbox %s sync failed", pk, exc_info=True)
        result.error = _("The mail server answered unexpectedly: %(error)s") % {"error": _describe(e)}
    errors = ([result.error] if result.error else []) + result.message_errors[:ERRORS_KEPT]
    if len(result.message_errors) > ERRORS_KEPT:
        errors.append(_("…and %(n)d more.") % {"n": len(result.message_errors) - ERRORS_KEPT})
    updates = {"last_sync_at": timezone.now(), "last_error": "\n".join(errors)[:5000], "sync_started_at": None,
               "imported_count": F("imported_count") + result.imported}
    if not result.error:
        updates["last_success_at"] = updates["last_sync_at"]
    Mailbox.objects.filter(pk=pk).update(**updates)
    return result


def mailboxes_due(limit=500):
    """Ids of the enabled mailboxes, least recently synced first: what the periodic job enqueues."""
    return list(Mailbox.objects.filter(enabled=True).order_by(F("last_sync_at").asc(nulls_first=True), "pk")
                .values_list("pk", flat=True)[:limit])
