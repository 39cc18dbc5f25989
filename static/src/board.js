// Kanban board: drag a deal card to another column (SortableJS) or pick "Move to…" on touch devices.
// Each move POSTs to the deal's stage command and is undone on the page when the server refuses it.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var alertBox = document.getElementById("board-alert");
  var lostDialog = document.getElementById("lost-dialog");

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function showError(message) {
    alertBox.textContent = message;
    alertBox.classList.remove("d-none");
  }

  function clearError() { alertBox.classList.add("d-none"); alertBox.textContent = ""; }

  function commandUrl(card, command) {
    return card.dataset.moveUrl.replace(/\/move\/$/, "/" + command + "/");
  }

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, error: response.statusText }; })
        .then(function (json) {
          if (!response.ok || !json.ok) throw new Error(json.error || response.statusText);
          return json;
        });
    });
  }

  function column(el) { return el.closest(".board-column"); }

  function number(value) { var n = parseFloat(value); return isNaN(n) ? 0 : n; }

  // Count and per-currency total of a column, adjusted by one card (sign +1 or -1).
  function adjust(col, card, sign) {
    var badge = col.querySelector(".board-count");
    var count = number(badge.dataset.count) + sign;
    badge.dataset.count = count;
    badge.textContent = count;
    var sums = col.querySelector(".board-sums");
    var sum = sums.querySelector('.board-sum[data-currency="' + card.dataset.currency + '"]');
    if (!sum) {
      sum = document.createElement("span");
      sum.className = "board-sum me-2";
      sum.dataset.currency = card.dataset.currency;
      sum.dataset.prefix = card.dataset.prefix;
      sum.dataset.total = "0";
      sums.appendChild(sum);
    }
    var total = number(sum.dataset.total) + sign * number(card.dataset.amount);
    sum.dataset.total = total;
    // As the server writes it (framework.money): symbol or code, thousands grouped, no cents.
    sum.textContent = sum.dataset.prefix + Math.round(total).toLocaleString("en-US");
  }

  function rankBetween(card) {
    var prev = card.previousElementSibling, next = card.nextElementSibling;
    while (prev && !prev.classList.contains("board-card")) prev = prev.previousElementSibling;
    while (next && !next.classList.contains("board-card")) next = next.nextElementSibling;
    var p = prev ? number(prev.dataset.rank) : null, n = next ? number(next.dataset.rank) : null;
    if (p !== null && n !== null) return (p + n) / 2;
    if (p !== null) return p + 1;
    if (n !== null) return n - 1;
    return 0;
  }

  function askLostReason() {
    return new Promise(function (resolve) {
      var form = document.getElementById("lost-dialog-form");
      form.reset();
      lostDialog.addEventListener("close", function onClose() {
        lostDialog.removeEventListener("close", onClose);
        if (lostDialog.returnValue === "ok" && form.reason.value) {
          resolve({ reason: form.reason.value, note: form.note.value });
        } else {
          resolve(null);
        }
      });
      lostDialog.showModal();
    });
  }

  // Send one move; `undo` puts the card back when it fails.
  function send(card, target, rank, undo) {
    var kind = target.dataset.kind, from = column(card.__from || card), to = column(target);
    var data = { version: card.dataset.version, rank: rank };
    var request;
    if (kind === "won") {
      request = post(commandUrl(card, "won"), data);
    } else if (kind === "lost") {
      request = askLostReason().then(function (answer) {
        if (!answer) throw new Error("");
        data.reason = answer.reason;
        data.note = answer.note;
        return post(commandUrl(card, "lost"), data);
      });
    } else {
      data.stage = target.dataset.stage;
      request = post(card.dataset.moveUrl, data);
    }
    clearError();
    return request.then(function (json) {
      card.dataset.version = json.version;
      card.dataset.rank = json.rank;
      if (from !== to) {
        adjust(from, card, -1);
        adjust(to, card, +1);
        var days = card.querySelector(".board-card-days");
        if (days) days.lastChild.textContent = " " + board.dataset.zeroDays;
        var badge = card.querySelector(".badge.text-bg-warning");
        if (badge) badge.remove();
        card.classList.remove("stalled", "border-warning");
        attachMove(card);
      }
      if (kind !== "open") card.remove();
    }).catch(function (error) {
      undo();
      if (error.message) showError(error.message);
    });
  }

  // The "Move to…" select of a card: cloned from one <template> (the page does not render one per card),
  // without the card's own stage.
  var moveTemplate = document.getElementById("board-move-template");

  function attachMove(card) {
    var slot = card.querySelector(".board-move");
    if (!slot || !moveTemplate) return;
    var list = card.closest(".board-cards");
    var select = moveTemplate.content.firstElementChild.cloneNode(true);
    var own = list ? select.querySelector('option[value="' + list.dataset.stage + '"]') : null;
    if (own) own.remove();
    select.id = "move-" + card.dataset.id;
    slot.innerHTML = "";
    slot.appendChild(select);
  }

  function attachAll(root) {
    root.querySelectorAll(".board-card .board-move:empty").forEach(function (slot) {
      attachMove(slot.closest(".board-card"));
    });
  }

  attachAll(board);
  document.addEventListener("htmx:afterSwap", function () { attachAll(board); });

  board.querySelectorAll(".board-cards").forEach(function (list) {
    Sortable.create(list, {
      group: { name: "deals", pull: list.dataset.kind === "open", put: true },
      draggable: ".board-card[data-movable]",
      filter: "select, input, button, a",
      preventOnFilter: false,
      delayOnTouchOnly: true,
      delay: 150,
      animation: 120,
      onEnd: function (evt) {
        var card = evt.item;
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
        var origin = evt.from, oldIndex = evt.oldIndex;
        card.__from = origin;
        send(card, evt.to, rankBetween(card), function () {
          var ref = origin.children[oldIndex] || null;
          origin.insertBefore(card, ref);
        }).finally(function () { delete card.__from; });
      }
    });
  });

  // "Move to…" on each card: the same command without dragging (phones, keyboards).
  board.addEventListener("change", function (evt) {
    var select = evt.target;
    if (!select.matches("select[data-board-move]") || !select.value) return;
    var card = select.closest(".board-card");
    var value = select.value;
    var target = value === "won" || value === "lost"
      ? board.querySelector('.board-cards[data-kind="' + value + '"]')
      : board.querySelector('.board-cards[data-stage="' + value + '"]');
    if (!target) return;
    var origin = card.parentNode, next = card.nextSibling;
    card.__from = origin;
    target.insertBefore(card, target.querySelector(".board-card"));
    send(card, target, rankBetween(card), function () {
      origin.insertBefore(card, next);
      select.value = "";
    }).finally(function () { delete card.__from; });
  });
})();
