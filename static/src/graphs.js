// The graphs of the instance and node pages (templates/metrics/partials/graphs.html): a uPlot
// chart per <figure data-chart>, fed by the metrics API at the panel's data-url, read again
// every data-interval seconds and whenever the timeframe or the consolidation changes. A
// null in the API is a gap in the line (spanGaps off), never a zero.
import uPlot from "uplot";

const HEIGHT = 160;
const AXIS_WIDTH = 84; // the same for every chart, so that their time axes line up
const COLOURS = ["#0d6efd", "#fd7e14"];
const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

function bytes(value) {
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : Number(value.toFixed(1))} ${BYTE_UNITS[unit]}`;
}

const oneDecimal = (value) => String(Number(value.toFixed(1)));
const FORMATS = {
  percent: (value) => `${oneDecimal(value)} %`,
  bytes,
  bytes_per_s: (value) => `${bytes(value)}/s`,
  count: oneDecimal,
};

// Axis steps for bytes: 1, 2, 4 … 512 of each binary unit, so that ticks read 256 MiB.
const BINARY_STEPS = BYTE_UNITS.flatMap((_, power) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((step) => step * 1024 ** power),
);
const STEPS = { bytes: BINARY_STEPS, bytes_per_s: BINARY_STEPS, count: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] };

// Every series is a size or a rate: from zero up, with room above the highest line
// (percentages up to 100 at least).
const fromZero = (minimum) => (chart, low, high) => [0, Math.max(minimum, (high ?? 0) * 1.1)];
const RANGES = { percent: fromZero(100), count: fromZero(1) };

function linesOf(figure) {
  return JSON.parse(figure.dataset.lines);
}

// uPlot marks the points only where they are sparse; a value between two gaps (the first
// sample of an instance, say) would then be drawn as nothing at all.
function lonelyPoints(chart, seriesIndex, show) {
  if (show) return null;
  const values = chart.data[seriesIndex];
  const lonely = [];
  values.forEach((value, index) => {
    if (value != null && values[index - 1] == null && values[index + 1] == null) lonely.push(index);
  });
  return lonely.length ? lonely : null;
}

function options(figure, width) {
  const unit = figure.dataset.unit;
  const format = FORMATS[unit];
  const valueAxis = { size: AXIS_WIDTH, values: (chart, ticks) => ticks.map(format) };
  if (STEPS[unit]) valueAxis.incrs = STEPS[unit];
  return {
    width,
    height: HEIGHT,
    scales: { y: { range: RANGES[unit] || fromZero(1) } },
    axes: [{}, valueAxis],
    series: [
      {},
      ...linesOf(figure).map((line, index) => ({
        label: line.label,
        stroke: COLOURS[index],
        width: 1.5,
        spanGaps: false,
        points: { filter: lonelyPoints },
        value: (chart, value) => (value == null ? "—" : format(value)),
      })),
    ],
  };
}

function chartOf(figure) {
  const place = figure.querySelector(".kumo-graph");
  const empty = [[], ...linesOf(figure).map(() => [])];
  const chart = new uPlot(options(figure, place.clientWidth), empty, place);
  new ResizeObserver(([entry]) => {
    if (entry.contentRect.width) chart.setSize({ width: entry.contentRect.width, height: HEIGHT });
  }).observe(place);
  figure.chart = chart; // the browser tests read its data
  return chart;
}

function hasPoints(body) {
  return Object.values(body.series).some((points) => points.some(([, value]) => value !== null));
}

function draw(panel, figures, body) {
  const shown = hasPoints(body);
  panel.querySelector("[data-graphs-nothing]").hidden = shown;
  panel.querySelector("[data-graphs-charts]").hidden = !shown;
  for (const figure of figures) {
    const columns = linesOf(figure).map((line) => body.series[line.series] || []);
    const times = columns[0].map(([time]) => time);
    figure.chart.setData([times, ...columns.map((points) => points.map(([, value]) => value))]);
  }
  panel.querySelectorAll("[data-memory-source]").forEach((note) => {
    note.hidden = note.dataset.memorySource !== body.memory_source;
  });
}

function chosen(panel, name) {
  return panel.querySelector(`input[name=${name}]:checked`).value;
}

function start(panel) {
  const figures = [...panel.querySelectorAll("[data-chart]")];
  figures.forEach(chartOf);
  const failure = panel.querySelector("[data-graphs-failure]");
  let inFlight = null;

  async function load() {
    inFlight?.abort();
    inFlight = new AbortController();
    const query = new URLSearchParams({
      timeframe: chosen(panel, "graphs-timeframe"),
      cf: chosen(panel, "graphs-cf"),
    });
    try {
      const response = await fetch(`${panel.dataset.url}?${query}`, {
        headers: { Accept: "application/json" },
        signal: inFlight.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      draw(panel, figures, await response.json());
      failure.hidden = true;
    } catch (error) {
      if (error.name === "AbortError") return; // a newer request replaced it
      failure.querySelector("span").textContent = error.message;
      failure.hidden = false; // the last drawing stays
    }
  }

  const timer = setInterval(() => {
    if (!panel.isConnected) {
      clearInterval(timer);
      figures.forEach((figure) => figure.chart.destroy());
    } else if (!document.hidden) {
      load();
    }
  }, Number(panel.dataset.interval) * 1000);
  panel.addEventListener("change", load);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && panel.isConnected) load();
  });
  load();
}

// Panels of the page, and any that an htmx swap brings in.
function startWithin(element) {
  const panels = element.matches("[data-graphs]") ? [element] : element.querySelectorAll("[data-graphs]");
  for (const panel of panels) {
    if (!panel.dataset.started) {
      panel.dataset.started = "yes";
      start(panel);
    }
  }
}

startWithin(document.documentElement);
document.addEventListener("htmx:load", (event) => startWithin(event.target));
