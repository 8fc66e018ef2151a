// The web dashboard's little script: draws the charts whose ECharts options the server rendered
// into the page (it computes nothing), and keeps a live page current: every few seconds it asks
// for the page again with If-None-Match; a 304 means nothing changed, a 200 brings the page's
// new live part, swapped in without a reload.
"use strict";
(function () {
  const charts = [];

  function draw(root) {
    while (charts.length) charts.pop().dispose();
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      const source = document.getElementById(el.dataset.chart);
      if (!source || typeof echarts === "undefined") return;
      const option = JSON.parse(source.textContent);
      if (option._geo) {
        echarts.registerMap(option._geo.name, option._geo.geojson);
        delete option._geo;
      }
      const chart = echarts.init(el, null, { renderer: "canvas" });
      // before the option: a chart with nothing to animate finishes within setOption
      chart.on("finished", function () { el.dataset.drawn = "true"; });
      chart.on("click", function (params) {
        if (params.data && params.data.href) window.location.href = params.data.href;
      });
      chart.setOption(option);
      charts.push(chart);
    });
    document.body.dataset.charts = String(charts.length);
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
              draw(main);
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

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("DOMContentLoaded", function () {
    const main = document.getElementById("live");
    draw(document);
    if (main) follow(main);
  });
})();
