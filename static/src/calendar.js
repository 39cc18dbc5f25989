// The calendar page: FullCalendar fed by /calendar/events/, drag and drop posting to each event's move URL.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
  });
  var el = document.getElementById("calendar");
  if (!el || typeof FullCalendar === "undefined") return;
  var cfg = el.dataset;
  var zone = cfg.timeZone;
  var alertBox = document.getElementById("calendar-alert");
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";

  function say(text, kind) {
    alertBox.className = "alert alert-" + (kind || "warning") + " py-2";
    alertBox.textContent = text;
    alertBox.hidden = !text;
  }

  // "Now" in the user's time zone as wall-clock time: with a named time zone and no time zone plugin,
  // FullCalendar treats times as wall-clock times in that zone.
  function wallNow() {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  function scope() {
    var checked = document.querySelector("input[name=calendar-scope]:checked");
    return checked ? checked.value : "mine";
  }

  function move(info) {
    var ev = info.event;
    var body = new URLSearchParams();
    body.set("start", ev.startStr);
    if (ev.extendedProps.kind === "interaction" && ev.end) body.set("end", ev.endStr);
    body.set("version", ev.extendedProps.version);
    fetch(ev.extendedProps.moveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          info.revert();
          say(data.detail || (response.status === 404 ? cfg.msgGone : cfg.msgFailed), "warning");
          return;
        }
        ev.setExtendedProp("version", data.event.extendedProps.version);
        ev.setProp("color", data.event.color);
        say(cfg.msgMoved, "success");
      });
    }).catch(function () {
      info.revert();
      say(cfg.msgFailed, "danger");
    });
  }

  var small = window.matchMedia("(max-width: 767.98px)").matches;
  var calendar = new FullCalendar.Calendar(el, {
    locale: cfg.locale,
    timeZone: zone,
    now: wallNow,
    initialView: small ? "listWeek" : (cfg.initialView || "timeGridWeek"),
    headerToolbar: small
      ? {left: "prev,next", center: "title", right: "today"}
      : {left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek"},
    footerToolbar: small ? {center: "listWeek,timeGridDay,dayGridMonth"} : false,
    height: small ? "auto" : "100%",
    nowIndicator: true,
    allDaySlot: false,
    defaultTimedEventDuration: "00:30:00",
    scrollTime: "08:00:00",
    snapDuration: "00:15:00",
    eventTimeFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
    slotLabelFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
    dayMaxEvents: true,
    editable: true,
    eventStartEditable: true,
    eventSources: [{
      url: cfg.eventsUrl,
      extraParams: function () { return {scope: scope()}; },
      success: function (content) {
        say(content.truncated ? cfg.msgTruncated : "", "info");
        return content.events;
      },
      failure: function () { say(cfg.msgLoadFailed, "danger"); }
    }],
    eventDrop: move,
    eventResize: move,
    eventDidMount: function (info) {
      info.el.setAttribute("data-event-id", info.event.id);
      info.el.title = info.event.title;
      var title = info.el.querySelector(".fc-event-title, .fc-list-event-title a");
      var icon = info.event.extendedProps.icon;
      if (title && /^bi-[a-z0-9-]+$/.test(icon || "")) {
        var i = document.createElement("i");
        i.className = "bi " + icon + " me-1";
        i.setAttribute("aria-hidden", "true");
        title.prepend(i);
      }
      if (info.event.extendedProps.done && title) title.classList.add("text-decoration-line-through");
    }
  });
  calendar.render();
  el.calendar = calendar;  // for tests and the console
  document.querySelectorAll("input[name=calendar-scope]").forEach(function (input) {
    input.addEventListener("change", function () { calendar.refetchEvents(); });
  });
})();
