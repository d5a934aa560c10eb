// cgraph's walk-through page: steps through the forward and backward passes of the graph drawn above.
// Plain JS over the standard DOM. Reads its numbers from the JSON block #walk-data; every text it
// writes goes through textContent (never innerHTML), so nothing from the formula becomes markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("walk-data").textContent);
  var steps = data.steps;
  var last = steps.length - 1;
  var current = 0;
  var nodes = {};
  var edges = [];

  function $(id) { return document.getElementById(id); }

  function element(tag, text, className) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (className) { e.className = className; }
    return e;
  }

  Object.keys(data.nodes).forEach(function (key) {
    var info = data.nodes[key];
    var g = $("walk_" + key);
    if (!g) { return; }
    g.classList.add("walk-kind-" + info.kind);
    nodes[key] = { info: info, g: g };
    if (info.kind === "output-marker") { return; }
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-label", "details of " + (info.statement || info.text || info.symbol));
    g.addEventListener("click", function () { details(key); });
    g.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); details(key); }
    });
  });

  data.edges.forEach(function (info, k) {
    var g = $("walk_e" + k);
    var texts = g ? g.querySelectorAll("text") : [];
    var next = 0;
    var edge = { info: info, g: g, value: null, gradient: null, rule: null };
    if (info.value !== null && texts[next]) { edge.value = texts[next++]; edge.value.classList.add("walk-value"); }
    if (info.gradient !== null && texts[next]) { edge.gradient = texts[next++]; edge.gradient.classList.add("walk-gradient"); }
    if (info.rule !== null && texts[next]) { edge.rule = texts[next++]; edge.rule.classList.add("walk-rule"); }
    edges.push(edge);
  });

  (function fit() {   // a small graph drawn up to 1.5 times larger, as wide as the figure allows
    var svg = document.querySelector("#walk-figure svg");
    var box = $("walk-figure");
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) { return; }
    var width = svg.width.baseVal.value;
    var scale = Math.min(1.5, (box.clientWidth - 20) / width);
    if (scale > 1) {
      svg.style.width = (width * scale) + "px";
      svg.style.height = (svg.height.baseVal.value * scale) + "px";
    }
  }());

  function hide(e, hidden) { if (e) { e.classList.toggle("walk-hidden", hidden); } }

  function caption(target, parts) {
    target.textContent = "";
    parts.forEach(function (part, k) { target.appendChild(element(k % 2 ? "code" : "span", part)); });
  }

  function show(step, keepHash) {
    if (!steps.length) { return; }
    step = Math.max(0, Math.min(last, Math.round(step) || 0));
    current = step;
    var here = steps[step];
    Object.keys(nodes).forEach(function (key) {
      var g = nodes[key].g;
      g.classList.toggle("walk-pending", nodes[key].info.fstep > step);
      g.classList.toggle("walk-active", here.node === key);
      g.classList.toggle("walk-target", here.target === key);
    });
    edges.forEach(function (edge, k) {
      var info = edge.info;
      var sent = info.gstep !== null && info.gstep <= step;
      hide(edge.value, info.vstep > step);
      hide(edge.gradient, !sent);
      hide(edge.rule, !sent);
      var active = here.edge === k;
      if (edge.gradient) { edge.gradient.textContent = active ? info.active : info.gradient; }
      if (edge.rule) { edge.rule.textContent = active ? info.activeRule : info.rule; }
      if (edge.g) {
        edge.g.classList.toggle("walk-active", active);
        edge.g.classList.toggle("walk-fresh", here.kind === "forward" && info.source === here.node);
      }
    });
    reveal(here.edge !== null && edges[here.edge] ? edges[here.edge].g : here.node && nodes[here.node].g);
    caption($("walk-caption"), here.caption);
    $("walk-counter").textContent = "step " + step + " of " + last;
    $("walk-slider").value = String(step);
    $("walk-slider").setAttribute("aria-valuetext", "step " + step + " of " + last);
    $("walk-first").disabled = $("walk-prev").disabled = step === 0;
    $("walk-next").disabled = $("walk-last").disabled = step === last;
    data.inputs.forEach(function (input) {
      var row = document.querySelector('#walk-inputs tr[data-key="' + input.key + '"] .walk-so-far');
      var text = "—";
      input.totals.forEach(function (total) {
        if (total[0] <= step) { text = total[1] + (total[2] ? " (" + total[2] + ")" : ""); }
      });
      if (row) { row.textContent = text; }
    });
    var items = document.querySelectorAll("#walk-all li");
    for (var k = 0; k < items.length; k++) {
      if (k === step) { items[k].setAttribute("aria-current", "step"); } else { items[k].removeAttribute("aria-current"); }
    }
    if (!keepHash) {
      try { history.replaceState(null, "", "#step=" + step); } catch (error) { /* a sandboxed page */ }
    }
  }

  function reveal(g) {   // scroll the figure (not the page) so the current node or edge is in view
    var box = $("walk-figure");
    if (!g || !box.getBoundingClientRect) { return; }
    var outer = box.getBoundingClientRect();
    var inner = g.getBoundingClientRect();
    if (inner.left < outer.left || inner.right > outer.right) {
      box.scrollLeft += (inner.left + inner.right) / 2 - (outer.left + outer.right) / 2;
    }
    if (inner.top < outer.top || inner.bottom > outer.bottom) {
      box.scrollTop += (inner.top + inner.bottom) / 2 - (outer.top + outer.bottom) / 2;
    }
  }

  function fromHash() {
    var match = /step=(\d+)/.exec(location.hash);
    return match ? parseInt(match[1], 10) : 0;
  }

  function row(table, label, value, code) {
    var tr = element("tr");
    var th = element("th", label);
    th.scope = "row";
    tr.appendChild(th);
    var td = element("td");
    td.appendChild(element(code ? "code" : "span", value === null || value === undefined ? "—" : value));
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function details(key) {
    var info = data.nodes[key];
    var box = $("walk-details");
    box.textContent = "";
    box.appendChild(element("h2", "Details: " + (info.name ? info.symbol + " (" + info.name + ")" : info.symbol)));
    var table = element("table");
    row(table, "kind", info.kind === "op" ? "operation " + (info.op || "") : info.kind);
    row(table, "source", info.text, true);
    if (info.statement && info.statement !== info.text) { row(table, "formula", info.statement, true); }
    if (info.shape) { row(table, "shape", info.shape.join("×")); }
    if (data.evaluated && info.kind !== "output-marker") {
      row(table, "value", info.value);
      row(table, "gradient (at the end)", info.gradient === null ? "none (no gradient flows to it)" : info.gradient);
      if (info.fstep > 0) { row(table, "computed at", "step " + info.fstep); }
    }
    box.appendChild(table);
    if (info.shape && data.evaluated) {
      if (info.full === null) {
        box.appendChild(element("p", info.size + " elements: more than 10,000, not embedded in the page"));
      } else {
        var button = element("button", "show all " + info.size + " values");
        button.type = "button";
        button.addEventListener("click", function () {
          button.replaceWith(element("pre", info.full, "walk-full"));
        });
        box.appendChild(button);
      }
    }
    if (info.locals && info.locals.length) {
      box.appendChild(element("h3", "Local derivatives"));
      var locals = element("table", null, "walk-locals");
      var head = element("tr");
      ["input", "rule", "local", "sent"].forEach(function (h) {
        var th = element("th", h);
        th.scope = "col";
        head.appendChild(th);
      });
      locals.appendChild(head);
      info.locals.forEach(function (local) {
        var tr = element("tr");
        [local.input, local.rule, local.local, local.sent].forEach(function (text, k) {
          var td = element("td");
          td.appendChild(element(k < 2 ? "code" : "span", text));
          tr.appendChild(td);
        });
        locals.appendChild(tr);
      });
      box.appendChild(locals);
    }
  }

  if (steps.length) {
    $("walk-first").addEventListener("click", function () { show(0); });
    $("walk-prev").addEventListener("click", function () { show(current - 1); });
    $("walk-next").addEventListener("click", function () { show(current + 1); });
    $("walk-last").addEventListener("click", function () { show(last); });
    $("walk-slider").addEventListener("input", function (event) { show(parseInt(event.target.value, 10)); });
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      if (target && (target.id === "walk-slider" || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
      var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: last };
      if (Object.prototype.hasOwnProperty.call(moves, event.key)) {
        event.preventDefault();
        show(moves[event.key]);
      }
    });
    window.addEventListener("hashchange", function () { show(fromHash(), true); });
    var before = 0;
    window.addEventListener("beforeprint", function () {
      before = current;
      show(last, true);
      if ($("walk-all")) { $("walk-all").open = true; }
    });
    window.addEventListener("afterprint", function () { show(before, true); });
    show(fromHash(), !/step=/.test(location.hash));
  }
}());
