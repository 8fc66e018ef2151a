// The web dashboard's little script: draws the charts whose ECharts options the server rendered
// into the page (it computes nothing), and keeps a live page current: every few seconds it asks
// for the page again with If-None-Match; a 304 means nothing changed, a 200 brings the page's
// new live part, swapped in without a reload.
"use strict";
(function () {
  const charts = [];

  // the page's type follows the viewport (a wall screen's is twice a laptop's): the charts'
  // labels, margins and marks follow it too, or they would stay laptop-sized on the wall
  function scaled(option) {
    const base = parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
    const k = base / 14;
    const font = Math.round(12 * k);
    const times = function (box, keys) {
      if (!box) return;
      keys.forEach(function (key) { if (typeof box[key] === "number") box[key] *= k; });
    };
    option.textStyle = Object.assign({ fontSize: font }, option.textStyle);
    ["xAxis", "yAxis"].forEach(function (name) {
      [].concat(option[name] || []).forEach(function (axis) {
        axis.axisLabel = Object.assign({ fontSize: font }, axis.axisLabel);
      });
    });
    if (option.legend) {
      option.legend.textStyle = Object.assign({ fontSize: font }, option.legend.textStyle);
      option.legend.itemWidth = 25 * k;
      option.legend.itemHeight = 14 * k;
    }
    times(option.grid, ["left", "right", "top", "bottom"]);
    if (option.visualMap) {
      option.visualMap.textStyle = { fontSize: font };
      option.visualMap.itemWidth = 20 * k;
      option.visualMap.itemHeight = 140 * k;
    }
    (option.series || []).forEach(function (series) {
      if (series.label) series.label.fontSize = font;
      times(series, ["barMaxWidth"]);
    });
    return option;
  }

  // a page drawn on arrival (or for a new viewport) shows its figures at once; a live update
  // animates from the old figures to the new, which is what a wall screen's watcher notices
  function draw(root, animate) {
    while (charts.length) charts.pop().dispose();
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      const source = document.getElementById(el.dataset.chart);
      if (!source || typeof echarts === "undefined") return;
      const option = scaled(JSON.parse(source.textContent));
      option.animation = Boolean(animate);
      if (option._geo) {
        echarts.registerMap(option._geo.name, option._geo.geojson);
        delete option._geo;
      }
      el.dataset.drawn = "false";  // until this drawing finishes (a redraw's too)
      const chart = echarts.init(el, null, { renderer: "canvas" });
      // drawn: once painted ("rendered", sent for every frame; "finished" would wait for an
      // animation, and is never sent by a chart with nothing to animate)
      chart.on("rendered", function () {
        if (!el.dataset.drawnAt) el.dataset.drawnAt = String(performance.now());
        el.dataset.drawn = "true";
      });
      chart.on("click", function (params) {
        if (params.data && params.data.href) window.location.href = params.data.href;
      });
      chart.setOption(option);
      charts.push(chart);
    });
    document.body.dataset.charts = String(charts.length);
    document.body.dataset.width = String(window.innerWidth);  // the viewport drawn for
  }

  function follow(main) {
    const seconds = parseFloat(main.dataset.live || "0");
    if (!seconds) return;
    let etag = main.dataset.etag || null;
    async function poll() {
      try {
        const headers = etag ? { "If-None-Match": etag } : {};
        const response = await fetch(window.location.href, {
          headers: headers, cache: "no-store", credentials: "same-origin",
        });
        if (response.status === 200) {
          const fresh = response.headers.get("ETag");
          {
            const page = new DOMParser().parseFromString(await response.text(), "text/html");
            const live = page.getElementById("live");
            if (live) {
              main.innerHTML = live.innerHTML;
              draw(main, true);
              main.dataset.updated = String(Date.now());
            }
          }
          etag = fresh;
        } else if (response.status === 304) {
          etag = response.headers.get("ETag") || etag;
        }
      } catch (e) {
        // the service restarting or the network gone: the next poll tries again
      }
      window.setTimeout(poll, seconds * 1000);
    }
    poll();
  }

  window.addEventListener("resize", function () {
    // a new viewport may mean another type size: draw again, not only resize
    window.clearTimeout(window.__wanggeRedraw);
    window.__wanggeRedraw = window.setTimeout(function () { draw(document, false); }, 150);
  });
  document.addEventListener("DOMContentLoaded", function () {
    const main = document.getElementById("live");
    draw(document, false);
    if (main) follow(main);
  });
})();
