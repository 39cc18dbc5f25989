"""Reading a received email: headers, text, attachments and thread ids, from raw RFC 5322 bytes.

Real mail is messy, and Chinese mail especially: subjects in RFC 2047 encoded words, bodies and
headers in GB2312 that really hold GBK/GB18030 characters, raw 8-bit headers, HTML-only bodies,
missing or broken Message-IDs. Everything here decodes leniently (a wrong byte becomes U+FFFD, never
an exception); what cannot be parsed at all (e.g. multiparts nested thousands deep) raises, and the
importer records that message as failed and goes on with the rest of the batch.
"""

import email.header
import email.policy
import hashlib
import html
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

# GB2312 and GBK mail routinely contains characters only GB18030 (their superset) defines.
CHARSET_ALIASES = {
    "gb2312": "gb18030", "gb_2312-80": "gb18030", "euc-cn": "gb18030", "x-euc-cn": "gb18030", "gbk": "gb18030",
    "x-gbk": "gb18030", "cp936": "gb18030", "ms936": "gb18030", "windows-936": "gb18030", "csgb2312": "gb18030",
    "big5-hkscs": "big5hkscs", "unicode-1-1-utf-7": "utf-7", "ks_c_5601-1987": "cp949",
}
MESSAGE_ID_MAX = 255
_ID_RE = re.compile(r"<[^<>\s]+>")
_CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,60}/[a-z0-9][a-z0-9!#$&^_.+-]{0,60}$")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    message_id: str
    synthetic_id: bool
    in_reply_to: str
    references: list
    subject: str
    from_name: str
    from_address: str
    to: list
    cc: list
    date: datetime | None
    text: str
    attachments: list = field(default_factory=list)

    @property
    def thread_ids(self):
        """Ids of the earlier messages this one answers, oldest first (References, then In-Reply-To)."""
        ids = list(self.references)
        if self.in_reply_to and self.in_reply_to not in ids:
            ids.append(self.in_reply_to)
        return ids


def charset_name(charset):
    charset = (charset or "").strip().strip('"').lower()
    return CHARSET_ALIASES.get(charset, charset)


def decode_bytes(data, charset=None):
    """Text from bytes in a declared (maybe wrong, maybe unknown) charset; never raises."""
    tried = []
    for candidate in (charset_name(charset), "utf-8", "gb18030"):
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode(charset_name(charset) if _known(charset) else "utf-8", errors="replace")


def _known(charset):
    import codecs

    try:
        codecs.lookup(charset_name(charset))
        return True
    except LookupError:
        return False


def _has_escaped_bytes(text):
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def decode_header_value(raw):
    """A header's text: RFC 2047 encoded words decoded (any charset), raw 8-bit bytes read as UTF-8 or
    GB18030, folding undone, control characters dropped."""
    if raw is None:
        return ""
    raw = str(raw)
    if _has_escaped_bytes(raw):  # 8-bit bytes (not RFC 2047) kept by the parser as surrogate escapes
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"))
    raw = re.sub(r"\r?\n(?=[ \t])", "", raw)
    try:
        chunks = email.header.decode_header(raw)
    except Exception:  # a broken encoded word: keep the text as it came
        chunks = [(raw, None)]
    text = "".join(decode_bytes(v, c) if isinstance(v, bytes) else v for v, c in chunks)
    return clean_line(text)


def clean_line(text):
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


def normalise_id(value):
    """'<id@host>' from a Message-ID-like value; ids too long for the column are replaced by a hash."""
    value = (value or "").strip()
    match = _ID_RE.search(value)
    if match:
        value = match.group(0)
    else:
        inner = value.strip("<> ")
        if not inner or any(ch.isspace() for ch in inner):
            return ""
        value = f"<{inner}>"
    if len(value) > MESSAGE_ID_MAX:
        value = f"<{hashlib.sha256(value.encode()).hexdigest()}@long-id.guanxi>"
    return value


def id_list(value):
    return [normalise_id(m) for m in _ID_RE.findall(value or "")]


def parse_addresses(values):
    """Lower-cased addresses from address headers (display names decoded, duplicates dropped)."""
    seen, result = set(), []
    for _name, address in getaddresses([v for v in values if v]):
        address = address.strip().lower()
        if "@" in address and len(address) <= 254 and address not in seen and " " not in address:
            seen.add(address)
            result.append(address)
    return result


class _TextExtractor(HTMLParser):
    """HTML to plain text. Only text is kept: scripts, styles and every tag are dropped, entities
    decoded; the result is shown escaped like any other text."""

    SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}
    BLOCK = {"p", "div", "br", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
             "hr", "pre", "section", "article", "header", "footer", "address", "dl", "dt", "dd", "form"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping, self.pre = [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag in self.BLOCK:
            self.parts.append("\n")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skipping:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(markup):
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # HTMLParser is lenient; if it still gives up, fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]*>", " ", markup)).strip()
    lines = [line.strip(" \t") for line in "".join(parser.parts).replace("\xa0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def safe_filename(name, content_type, index):
    """A file name that is only a name: no directories, no control characters, at most 150 characters,
    the extension kept; a made-up one when the sender gave none."""
    name = decode_header_value(name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '<>:"|?*').strip(" .")
    if not name:
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{index}{extension}"
    if len(name) > 150:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 150 - len(extension) - 1] + "." + extension) if dot and len(extension) <= 10 else name[:150]
    return name


def safe_content_type(value):
    value = (value or "").strip().lower()
    return value if _CONTENT_TYPE_RE.match(value) else "application/octet-stream"


def _part_text(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "surrogateescape")
    return decode_bytes(payload, part.get_param("charset"))


def _raw_header(message, name):
    """The first raw value of a header (the parser's own objects are not used: they raise on some
    malformed values, e.g. a Message-ID of '<<<>')."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return value
    return None


def _raw_headers(message, name):
    return [value for key, value in message.raw_items() if key.lower() == name.lower()]


def _filename(part):
    name = None
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
        if isinstance(raw, tuple):  # RFC 2231 (charset, language, value)
            raw = email.utils.collapse_rfc2231_value(raw)
        name = raw
    return name


def _walk(message):
    """Leaf parts, in order; an attached email (message/rfc822) is one attachment, not walked into."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        content_type = part.get_content_type()
        if part.is_multipart() and content_type != "message/rfc822":
            stack[0:0] = list(part.get_payload())
        else:
            yield part


def parse_email(raw):
    """A ParsedEmail from raw bytes. Raises only when the message cannot be read at all."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    text_plain, text_html, attachments = [], [], []
    for index, part in enumerate(_walk(message), start=1):
        content_type = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part)
        is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
        if is_body_text:
            (text_plain if content_type == "text/plain" else text_html).append(_part_text(part))
            continue
        if content_type.startswith("multipart/"):
            continue  # an empty multipart
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            filename = filename or (decode_header_value(_raw_header(inner, "Subject")) + ".eml"
                                    if hasattr(inner, "raw_items") else "")
        else:
            data = part.get_payload(decode=True) or b""
        if not data and not filename:
            continue
        attachments.append(ParsedAttachment(safe_filename(filename, content_type, index),
                                            safe_content_type(content_type), data))
    if text_plain:
        text = "\n\n".join(t.strip("\n") for t in text_plain)
    else:
        text = "\n\n".join(html_to_text(h) for h in text_html)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()

    from_values = _raw_headers(message, "From") or _raw_headers(message, "Sender")
    from_decoded = [decode_header_value(v) for v in from_values]
    senders = getaddresses(from_decoded)
    from_name, from_address = (senders[0] if senders else ("", ""))
    to = parse_addresses([decode_header_value(v) for v in _raw_headers(message, "To")])
    cc = parse_addresses([decode_header_value(v) for v in _raw_headers(message, "Cc")])
    subject = decode_header_value(_raw_header(message, "Subject"))
    date = None
    raw_date = _raw_header(message, "Date")
    if raw_date:
        try:
            date = parsedate_to_datetime(clean_line(raw_date))
            if date.tzinfo is None:
                date = date.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    message_id = normalise_id(decode_header_value(_raw_header(message, "Message-ID")))
    parsed = ParsedEmail(
        message_id=message_id, synthetic_id=False,
        in_reply_to=(id_list(decode_header_value(_raw_header(message, "In-Reply-To"))) or [""])[0],
        references=id_list(" ".join(decode_header_value(v) for v in _raw_headers(message, "References"))),
        subject=subject, from_name=clean_line(from_name), from_address=from_address.strip().lower(),
        to=to, cc=cc, date=date, text=text, attachments=attachments,
    )
    if not parsed.message_id:
        parsed.message_id, parsed.synthetic_id = synthetic_message_id(parsed), True
    return parsed


def synthetic_message_id(parsed):
    """A stable id for a message that has none: the same message (in any mailbox, fetched any number
    of times) hashes to the same id, so it is still imported once."""
    digest = hashlib.sha256()
    for value in (parsed.from_address, ",".join(parsed.to), ",".join(parsed.cc),
                  parsed.date.isoformat() if parsed.date else "", parsed.subject, parsed.text):
        digest.update(value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    for attachment in parsed.attachments:
        digest.update(hashlib.sha256(attachment.data).digest())
    return f"<{digest.hexdigest()[:40]}@no-message-id.guanxi>"
