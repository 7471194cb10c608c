// nngraph's interactive view: explains the neuron diagram above it, neuron by neuron and sample by sample.
//
// Each view is a <div class="nngraph-view"> holding the diagram (Graphviz's SVG), a panel, and its data as
// JSON (made by nngraph.render.html_data). Nodes are found by their Graphviz name (the SVG <title>), edges
// by their id (link{i}, link{i}-1, ... for the segments of data.links[i]). Every number shown comes from
// the data as it is: nothing is recomputed here but percentages, which only move the decimal point.
// Text from the data (neuron names come from model files) is only ever set with textContent.
(function () {
  "use strict";
  var XLINK = "http://www.w3.org/1999/xlink";
  var LIGHT = "#ffffff";
  var INK = "#222222";

  function show(value) {
    // Numbers arrive rounded; NaN and infinities arrive as strings (JSON has no such numbers).
    return typeof value === "string" ? value : String(value);
  }

  function percent(value) {
    return typeof value === "string" ? value : String(Number((value * 100).toPrecision(4))) + "%";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function plural(count, word) {
    return count.toLocaleString("en-US") + " " + word + (count === 1 ? "" : "s");
  }

  function View(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.nngraph-data").textContent);
    this.svg = root.querySelector(".nngraph-diagram svg");
    this.panel = root.querySelector(".nngraph-panel");
    this.tip = root.querySelector(".nngraph-tip");
    this.slider = root.querySelector(".nngraph-slider");
    this.sampleText = root.querySelector(".nngraph-sample");
    this.sample = this.data.sample;
    this.pinned = null;
    this.entries = {};
    this.nodes = {};
    this.segments = [];
    this.into = {};
    this.index();
    this.listen();
    this.setSample(this.sample);
    this.select(null);
  }

  View.prototype.index = function () {
    var self = this;
    this.data.neurons.forEach(function (entry) { self.entries[entry.key] = entry; });
    // Graphviz names each node in a <title>; read it, then drop it and every tooltip: the panel replaces them.
    this.svg.querySelectorAll("g.node").forEach(function (g) {
      var title = g.querySelector("title");
      if (title) { self.nodes[title.textContent] = g; }
    });
    this.svg.querySelectorAll("title").forEach(function (title) { title.remove(); });
    this.svg.querySelectorAll("a").forEach(function (a) {
      a.removeAttributeNS(XLINK, "title");
      a.removeAttribute("title");
    });
    this.data.links.forEach(function (link, i) {
      self.segments.push([]);
      (self.into[link.target] = self.into[link.target] || []).push(i);
    });
    this.svg.querySelectorAll("g.edge").forEach(function (g) {
      var match = /^link(\d+)(?:-\d+)?$/.exec(g.id);
      if (!match) { return; }
      var i = Number(match[1]);
      self.segments[i].push(g);
      g.setAttribute("data-link", String(i));
      var path = g.querySelector("path");
      if (path) {  // a wider, invisible copy of the line, so that thin connections are easy to point at
        var hit = path.cloneNode(false);
        hit.setAttribute("class", "nngraph-hit");
        hit.removeAttribute("stroke-dasharray");
        path.parentNode.insertBefore(hit, path.nextSibling);
      }
    });
    Object.keys(this.entries).forEach(function (key) {
      var g = self.nodes[key];
      if (!g) { return; }
      g.setAttribute("data-key", key);
      // Numbers in circles change with the sample: centre them, so that they stay centred.
      var ellipse = g.querySelector("ellipse");
      if (!ellipse) { return; }
      g.querySelectorAll("text").forEach(function (text) {
        text.setAttribute("text-anchor", "middle");
        text.setAttribute("x", ellipse.getAttribute("cx"));
      });
    });
    var legend = this.nodes.legend;
    this.legendTexts = legend ? Array.prototype.slice.call(legend.querySelectorAll("text")) : [];
    this.legendTexts.forEach(function (text) {
      if (text.textContent.indexOf("neuron fill:") === 0) { self.fillTitle = text; }
    });
    if (this.fillTitle) {
      var at = this.legendTexts.indexOf(this.fillTitle);
      this.ticks = [this.legendTexts[at + 1], this.legendTexts[at + 3]];
      this.ticks.forEach(function (text) {
        var box = text.getBBox();
        text.setAttribute("text-anchor", "middle");
        text.setAttribute("x", String(box.x + box.width / 2));
      });
    }
  };

  View.prototype.listen = function () {
    var self = this;
    Object.keys(this.entries).forEach(function (key) {
      var g = self.nodes[key];
      if (!g) { return; }
      g.addEventListener("mouseenter", function () { self.select(key); });
      g.addEventListener("mouseleave", function () { self.select(self.pinned); });
      g.addEventListener("click", function (event) {
        event.stopPropagation();
        self.pinned = self.pinned === key ? null : key;
        self.select(self.pinned === null ? key : self.pinned);
      });
    });
    this.svg.addEventListener("click", function () { self.pinned = null; self.select(null); });
    this.segments.forEach(function (segments, i) {
      segments.forEach(function (g) {
        g.addEventListener("mouseenter", function (event) { self.showTip(i, event); });
        g.addEventListener("mousemove", function (event) { self.placeTip(event); });
        g.addEventListener("mouseleave", function () { self.tip.hidden = true; });
      });
    });
    if (this.slider) {
      this.slider.addEventListener("input", function () { self.setSample(Number(self.slider.value)); });
      this.root.querySelector(".nngraph-prev").addEventListener("click", function () { self.step(-1); });
      this.root.querySelector(".nngraph-next").addEventListener("click", function () { self.step(1); });
    }
    this.root.addEventListener("keydown", function (event) {
      if (event.target === self.slider) { return; }  // the slider steps by itself
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        self.step(event.key === "ArrowLeft" ? -1 : 1);
        event.preventDefault();
      } else if (event.key === "Escape") {
        self.pinned = null;
        self.select(null);
      }
    });
  };

  View.prototype.step = function (by) {
    var count = this.data.samples;
    if (count > 0) { this.setSample((this.sample + by + count) % count); }
  };

  // --- the sample: fills, numbers in circles, output labels, legend, panel ---

  View.prototype.setSample = function (sample) {
    var self = this;
    var data = this.data;
    if (!data.samples) { return; }
    this.sample = sample;
    if (this.slider) { this.slider.value = String(sample); }
    this.sampleText.textContent = "sample " + sample + " (0 to " + (data.samples - 1) + ")";
    data.neurons.forEach(function (entry) {
      var g = self.nodes[entry.key];
      if (!entry.fill || !g) { return; }
      var ellipse = g.querySelector("ellipse");
      if (ellipse) { ellipse.setAttribute("fill", entry.fill[sample]); }
      var texts = g.querySelectorAll("text");
      var lines = entry.text[sample];
      for (var k = 0; k < lines.length && k < texts.length; k++) {
        var text = texts[texts.length - lines.length + k];
        text.textContent = lines[k];
        text.setAttribute("fill", entry.light[sample] ? LIGHT : INK);
      }
    });
    (data.outputLabels || []).forEach(function (label) {
      var text = self.nodes[label.key] && self.nodes[label.key].querySelector("text");
      if (!text) { return; }
      text.textContent = label.text[sample];
      if (label.bold[sample]) { text.setAttribute("font-weight", "bold"); } else { text.removeAttribute("font-weight"); }
    });
    if (this.fillTitle) {
      this.fillTitle.textContent = "neuron fill: its value for sample " + sample;
      this.ticks[0].textContent = data.scale[sample][0];
      this.ticks[1].textContent = data.scale[sample][1];
    }
    this.explain(this.current);
  };

  // --- selection: highlight a node's incoming connections and their sources, dim the rest ---

  View.prototype.select = function (key) {
    var self = this;
    this.current = key;
    this.svg.querySelectorAll(".nngraph-lit, .nngraph-selected, .nngraph-source").forEach(function (g) {
      g.classList.remove("nngraph-lit", "nngraph-selected", "nngraph-source");
    });
    this.svg.classList.toggle("nngraph-focus", key !== null);
    if (key !== null) {
      var g = this.nodes[key];
      g.classList.add("nngraph-lit", "nngraph-selected");
      (this.into[key] || []).forEach(function (i) {
        self.segments[i].forEach(function (segment) { segment.classList.add("nngraph-lit"); });
        var source = self.nodes[self.data.links[i].source];
        if (source) { source.classList.add("nngraph-lit", "nngraph-source"); }
      });
    }
    this.explain(key);
  };

  // --- the panel ---

  View.prototype.explain = function (key) {
    var panel = this.panel;
    panel.textContent = "";
    if (key === null || key === undefined) {
      panel.appendChild(element("p", "nngraph-muted", "Point at a neuron to see its weighted sum written out; " +
        "click to keep it. Point at a connection to read its weight." +
        (this.data.samples ? " Step through the samples with the slider or the arrow keys." : "")));
      return;
    }
    var entry = this.entries[key];
    if (entry.folded) { this.explainFolded(entry); } else if (entry.role === "input") { this.explainInput(entry); }
    else { this.explainNeuron(entry); }
  };

  View.prototype.heading = function (entry) {
    this.panel.appendChild(element("h3", "nngraph-name", entry.name));
    var where = entry.column + (entry.layer && entry.layer !== entry.column ? " \u00b7 layer " + entry.layer : "");
    this.panel.appendChild(element("p", "nngraph-muted nngraph-where", where));
    if (entry.label) { this.panel.appendChild(element("p", "nngraph-class", "class: " + entry.label)); }
  };

  View.prototype.explainInput = function (entry) {
    this.heading(entry);
    if (this.data.samples) {
      var line = element("p", "nngraph-formula", "value = ");
      line.appendChild(element("span", "nngraph-a", show(entry.a[this.sample])));
      line.appendChild(document.createTextNode("  (sample " + this.sample + ")"));
      this.panel.appendChild(line);
    } else {
      this.panel.appendChild(element("p", null, "An input: its value is the sample's feature."));
    }
  };

  function row(table, cells) {
    var tr = element("tr");
    cells.forEach(function (cell) { tr.appendChild(element("td", cell[1], cell[0])); });
    table.appendChild(tr);
    return tr;
  }

  View.prototype.explainNeuron = function (entry) {
    var sample = this.sample;
    var traced = this.data.samples > 0;
    this.heading(entry);
    this.panel.appendChild(element("p", "nngraph-activation",
      "activation " + entry.activation + " \u00b7 bias " + show(entry.bias) + " \u00b7 " +
      plural(entry.fanIn, "incoming connection")));
    this.panel.appendChild(element("p", "nngraph-muted", traced
      ? "weighted sum for sample " + sample + ", largest terms first (value \u00d7 weight):"
      : "weighted sum, largest weights first (weight \u00d7 value of the source):"));
    var table = element("table", "nngraph-terms");
    row(table, [["z =", null], [show(entry.bias), "nngraph-num nngraph-bias"], ["bias", "nngraph-source"]]);
    var shown = 0;
    if (traced) {
      entry.terms[sample].forEach(function (term) {
        var source = entry["in"][term[0]];
        var tr = row(table, [["+", null], [show(term[1]) + " \u00d7 " + show(source[1]), "nngraph-num nngraph-term"],
          ["= " + show(term[2]), "nngraph-num nngraph-product"], [source[0], "nngraph-source"]]);
        tr.setAttribute("data-value", show(term[1]));
        tr.setAttribute("data-weight", show(source[1]));
        tr.setAttribute("data-product", show(term[2]));
      });
      shown = entry.terms[sample].length;
    } else {
      entry["in"].forEach(function (source) {
        row(table, [["+", null], [show(source[1]) + " \u00d7 a", "nngraph-num nngraph-term"], [source[0], "nngraph-source"]]);
      });
      shown = entry["in"].length;
    }
    var rest = entry.fanIn - shown;
    if (rest > 0) {
      row(table, [["+", null], [plural(rest, "more term"), "nngraph-num"],
        [traced ? "= " + show(entry.rest[sample]) : "", "nngraph-num nngraph-rest"]]);
    }
    if (traced) {
      var total = row(table, [["=", null], [show(entry.z[sample]), "nngraph-num nngraph-z"], ["weighted sum z", "nngraph-source"]]);
      total.className = "nngraph-total";
    }
    this.panel.appendChild(table);
    this.explainActivation(entry, traced);
  };

  View.prototype.explainActivation = function (entry, traced) {
    var sample = this.sample;
    var symbol = entry.probability ? "p" : "a";
    var call = entry.kind + "(" + (traced ? show(entry.z[sample]) : "z") + (entry.params ? ", " + entry.params : "") + ")";
    var line = element("p", "nngraph-formula");
    if (entry.groupWise) {
      line.textContent = symbol + " = " + entry.kind + "(z) over the " + entry.groupSize + " neurons of layer " +
        entry.layer + (traced ? " = " : "");
    } else {
      line.textContent = symbol + " = " + call + (traced ? " = " : "");
    }
    if (traced) { line.appendChild(element("span", "nngraph-a", show(entry.a[sample]))); }
    this.panel.appendChild(line);
    if (entry.probability && traced) {
      var what = entry.label ? "probability of " + entry.label + ": " : "probability: ";
      this.panel.appendChild(element("p", "nngraph-class", what + percent(entry.a[sample])));
    }
  };

  View.prototype.explainFolded = function (entry) {
    var panel = this.panel;
    panel.appendChild(element("h3", "nngraph-name", "+" + entry.count.toLocaleString("en-US") + " more"));
    panel.appendChild(element("p", "nngraph-muted nngraph-where", entry.column +
      (entry.layer ? " \u00b7 layer " + entry.layer : "")));
    panel.appendChild(element("p", "nngraph-folded", plural(entry.count, "neuron") + " not drawn, from " +
      entry.first + " to " + entry.last + (entry.activation ? " (" + entry.activation + ")" : "") + "."));
    panel.appendChild(element("p", null, "They receive " + plural(entry.fanIn, "connection") + " and send " +
      plural(entry.fanOut, "connection") + "; the dashed edges bundle them, labelled with their count."));
    if (this.data.samples) {
      var s = this.sample;
      var line = element("p", "nngraph-formula", "values for sample " + s + ": from ");
      line.appendChild(element("span", "nngraph-low", show(entry.low[s])));
      line.appendChild(document.createTextNode(" to "));
      line.appendChild(element("span", "nngraph-high", show(entry.high[s])));
      line.appendChild(document.createTextNode(", mean "));
      line.appendChild(element("span", "nngraph-mean", show(entry.mean[s])));
      panel.appendChild(line);
      panel.appendChild(element("p", "nngraph-formula nngraph-largest", "largest: " + entry.largest[s][0] + " = " +
        show(entry.largest[s][1])));
    }
  };

  // --- connections: a tip by the pointer ---

  View.prototype.describe = function (key) {
    var entry = this.entries[key];
    if (!entry.folded) { return entry.name; }
    return plural(entry.count, "folded neuron") + " (" + entry.first + " \u2026 " + entry.last + ")";
  };

  View.prototype.showTip = function (i, event) {
    var link = this.data.links[i];
    var tip = this.tip;
    tip.textContent = "";
    var head = this.describe(link.source) + " \u2192 " + this.describe(link.target);
    var traced = this.data.samples > 0;
    if (link.count === 1) {
      tip.appendChild(element("div", "nngraph-tip-head", head + ": weight " + show(link.weight)));
      if (traced) {
        var value = this.entries[link.source].a[this.sample];
        tip.appendChild(element("div", "nngraph-tip-contribution", "contribution for sample " + this.sample + ": " +
          show(link.weight) + " \u00d7 " + show(value) + " = " + show(link.contribution[this.sample])));
      }
    } else {
      tip.appendChild(element("div", "nngraph-tip-head", plural(link.count, "connection") + ": " + head +
        "; weights sum to " + show(link.weight)));
      if (traced) {
        tip.appendChild(element("div", "nngraph-tip-contribution", "contributions for sample " + this.sample +
          " sum to " + show(link.contribution[this.sample])));
      }
    }
    tip.hidden = false;
    this.placeTip(event);
  };

  View.prototype.placeTip = function (event) {
    var box = this.root.getBoundingClientRect();
    this.tip.style.left = (event.clientX - box.left + 14) + "px";
    this.tip.style.top = (event.clientY - box.top + 14) + "px";
  };

  function start() {
    document.querySelectorAll(".nngraph-view:not([data-nngraph-ready])").forEach(function (root) {
      root.setAttribute("data-nngraph-ready", "");
      root.nngraphView = new View(root);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
