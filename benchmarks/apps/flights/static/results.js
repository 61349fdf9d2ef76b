// The results page: one leg's flights with sort buttons, filters and flight rows.
// Sort and filters live in the URL (replaceState), so a reload shows the same list.

import { api } from "./api.js";
import { errorBox, h, replaceChildren } from "./dom.js";
import {
  AIRLINES,
  airlineName,
  airportLabel,
  cabinName,
  formatDate,
  formatDuration,
  formatPrice,
  formatStops,
  parseISO,
  plural,
  t,
  timeRange,
} from "./i18n.js";
import { promoBanner } from "./shared.js";
import { bookingUrl, buildQuery, flightUrl, rememberResults } from "./urls.js";

const CONFIG = window.FLIGHTS_CONFIG;
const SORTS = ["price", "departure", "duration"];
const TIMES = ["morning", "afternoon", "evening", "night"];

function list(value, allowed) {
  const wanted = (value || "").split(",").map((s) => s.trim()).filter(Boolean);
  return allowed.filter((item) => wanted.includes(item));
}

function wholeNumber(value) {
  const text = String(value ?? "").trim();
  if (!/^\d{1,7}$/.test(text)) return null;
  return Number(text);
}

/** The page's state from its query string. */
function readState(query) {
  const pax = Number(query.get("pax") || "1");
  const upper = (name) => (query.get(name) || "").trim().toUpperCase();
  return {
    trip: query.get("trip") === "round" ? "round" : "oneway",
    from: upper("from"),
    to: upper("to"),
    date: (query.get("date") || "").trim(),
    ret: (query.get("ret") || "").trim(),
    pax: Number.isInteger(pax) && pax >= 1 && pax <= CONFIG.max_passengers ? pax : 1,
    cabin: CONFIG.cabins.includes(query.get("cabin")) ? query.get("cabin") : "economy",
    out: (query.get("out") || "").trim(),
    sort: SORTS.includes(query.get("sort")) ? query.get("sort") : "price",
    sortInUrl: query.has("sort"),
    nonstop: query.get("nonstop") === "1",
    airlines: list(query.get("airline"), AIRLINES.map((a) => a.code)),
    times: list(query.get("time"), TIMES),
    minPrice: wholeNumber(query.get("min_price")),
    maxPrice: wholeNumber(query.get("max_price")),
  };
}

function baseQuery(s) {
  return [["trip", s.trip], ["from", s.from], ["to", s.to], ["date", s.date], ["pax", s.pax],
    ["cabin", s.cabin], ["ret", s.trip === "round" ? s.ret : ""]];
}

function resultsUrl(s) {
  return `/search?${buildQuery([
    ...baseQuery(s),
    ["out", s.out],
    ["sort", s.sortInUrl ? s.sort : ""],
    ["nonstop", s.nonstop ? "1" : ""],
    ["airline", s.airlines.join(",")],
    ["time", s.times.join(",")],
    ["min_price", s.minPrice],
    ["max_price", s.maxPrice],
  ])}`;
}

function hasFilters(s) {
  return s.nonstop || s.airlines.length || s.times.length || s.minPrice !== null ||
    s.maxPrice !== null;
}

export function mount(ctx) {
  const root = ctx.root;
  const s = readState(ctx.query);
  const returnLeg = s.trip === "round" && Boolean(s.out);
  const leg = returnLeg
    ? { from: s.to, to: s.from, date: s.ret }
    : { from: s.from, to: s.to, date: s.date };
  let data = null; // the /api/flights answer for the current filters
  let facets = null; // airlines of the route (stable while filtering)
  let outbound = null; // the chosen outbound flight on the return leg
  let loadError = null;
  let listArea = null;
  let request = 0;

  const complete = s.from && s.to && parseISO(s.date) && (s.trip === "oneway" || parseISO(s.ret));

  function apiParams() {
    return {
      from: leg.from, to: leg.to, date: leg.date, cabin: s.cabin, sort: s.sort,
      nonstop: s.nonstop ? "1" : "", airline: s.airlines.join(","), time: s.times.join(","),
      min_price: s.minPrice ?? "", max_price: s.maxPrice ?? "",
    };
  }

  async function load() {
    const mine = ++request;
    try {
      const [found, out] = await Promise.all([
        api.flights(apiParams()),
        returnLeg ? api.flight(s.out, s.cabin) : Promise.resolve(null),
      ]);
      if (mine !== request || !ctx.isCurrent()) return;
      data = found;
      facets = facets || found.airline_facets;
      outbound = out;
      loadError = null;
    } catch (error) {
      if (mine !== request || !ctx.isCurrent()) return;
      loadError = error;
      data = null;
    }
  }

  /** Apply a change of sort/filters: URL first, then the list. */
  async function update(change) {
    Object.assign(s, change);
    ctx.replaceUrl(resultsUrl(s));
    rememberResults(resultsUrl(s));
    await load();
    if (ctx.isCurrent()) renderList();
  }

  // --- pieces ----------------------------------------------------------------------------

  function summaryBar() {
    const meta = [plural("common.passengers", s.pax), cabinName(s.cabin)];
    if (s.trip === "round") {
      meta.unshift(`${t("search.round")}: ${formatDate(s.date)} – ${formatDate(s.ret)}`);
    }
    const modify = `/?${buildQuery(baseQuery(s))}`;
    return h("div", { class: "summary-bar" },
      h("div", { class: "container summary-inner" },
        h("div", null,
          h("div", { class: "summary-route", testid: "results-summary" },
            `${airportLabel(leg.from)} → ${airportLabel(leg.to)} · ${formatDate(leg.date)}`),
          h("div", { class: "summary-meta" }, meta.join(" · "))),
        h("a", { class: "button button-light", href: modify, testid: "modify-search" },
          t("results.modify"))));
  }

  function checkbox({ testid, checked, label, extra, onchange }) {
    return h("label", { class: "check" },
      h("input", { type: "checkbox", testid, checked, onchange }),
      h("span", { class: "check-label" }, label),
      extra ? h("span", { class: "check-extra" }, extra) : null);
  }

  function priceInput(testid, key, placeholder) {
    const input = h("input", {
      type: "number", class: "input input-small", testid, min: "0", step: "10", placeholder,
      value: s[key] ?? "", inputmode: "numeric",
    });
    const apply = () => {
      if (!input.isConnected) return; // a re-render replaced it: its value is stale
      const value = input.value.trim() === "" ? null : Math.max(0, Math.floor(Number(input.value)));
      const next = Number.isFinite(value) ? value : null;
      if (next !== s[key]) update({ [key]: next });
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        apply();
      }
    });
    input.addEventListener("blur", apply);
    return input;
  }

  function filters() {
    const toggle = (key, value) => (event) => {
      const chosen = new Set(s[key]);
      if (event.target.checked) chosen.add(value);
      else chosen.delete(value);
      const order = key === "airlines" ? AIRLINES.map((a) => a.code) : TIMES;
      update({ [key]: order.filter((v) => chosen.has(v)) });
    };
    return h("aside", { class: "card filters" },
      h("div", { class: "filters-head" },
        h("h2", null, t("filters.title")),
        h("button", {
          type: "button", class: "link-button", testid: "filter-reset",
          onclick: () => {
            update({ nonstop: false, airlines: [], times: [], minPrice: null, maxPrice: null });
            render();
          },
        }, t("filters.reset"))),
      h("section", { class: "filter-group" },
        h("h3", null, t("filters.stops")),
        checkbox({
          testid: "filter-nonstop", checked: s.nonstop, label: t("filters.nonstop"),
          onchange: (event) => update({ nonstop: event.target.checked }),
        })),
      h("section", { class: "filter-group" },
        h("h3", null, t("filters.airlines")),
        (facets || []).map((f) => checkbox({
          testid: `filter-airline-${f.code}`,
          checked: s.airlines.includes(f.code),
          label: airlineName(f.code),
          extra: formatPrice(f.min_price),
          onchange: toggle("airlines", f.code),
        }))),
      h("section", { class: "filter-group" },
        h("h3", null, t("filters.time")),
        TIMES.map((slot) => checkbox({
          testid: `filter-time-${slot}`,
          checked: s.times.includes(slot),
          label: t(`time.${slot}`),
          extra: timeRange(slot),
          onchange: toggle("times", slot),
        }))),
      h("section", { class: "filter-group" },
        h("h3", null, t("filters.price")),
        h("div", { class: "price-range" },
          priceInput("filter-price-min", "minPrice", t("filters.min")),
          h("span", null, "–"),
          priceInput("filter-price-max", "maxPrice", t("filters.max"))),
        h("p", { class: "hint" }, t("filters.priceHint"))));
  }

  function detailsUrl(flight) {
    const extra = [["cabin", s.cabin], ["pax", s.pax]];
    if (returnLeg) extra.push(["out", s.out]);
    else if (s.trip === "round") extra.push(["trip", "round"], ["ret", s.ret]);
    return flightUrl(flight.id, extra);
  }

  function choose(flight) {
    if (returnLeg) {
      ctx.navigate(bookingUrl({ out: s.out, ret: flight.id, pax: s.pax, cabin: s.cabin }));
    } else if (s.trip === "round") {
      ctx.navigate(resultsUrl({
        ...s, out: flight.id, nonstop: false, airlines: [], times: [], minPrice: null,
        maxPrice: null,
      }));
    } else {
      ctx.navigate(bookingUrl({ out: flight.id, pax: s.pax, cabin: s.cabin }));
    }
  }

  function timePoint(time, code, testid, offset) {
    return h("div", { class: "fr-point" },
      h("div", { class: "fr-time-line" },
        h("span", { class: "fr-time", testid }, time),
        offset ? h("sup", { class: "next-day", title: t("flight.nextDay") }, `+${offset}`) : null),
      h("span", { class: "fr-code" }, code));
  }

  function row(flight) {
    return h("article", {
      class: "card flight-row",
      testid: "flight-row",
      dataset: { flightId: flight.id, flightNo: flight.flight_no, price: String(flight.price) },
    },
    h("div", { class: "fr-airline" },
      h("span", { class: `airline-logo airline-${flight.airline}`, "aria-hidden": "true" },
        flight.airline),
      h("div", { class: "fr-airline-text" },
        h("span", { class: "fr-airline-name", testid: "flight-airline" },
          airlineName(flight.airline)),
        h("span", { class: "fr-number", testid: "flight-number" }, flight.flight_no))),
    h("div", { class: "fr-times" },
      timePoint(flight.depart, flight.from, "flight-depart", 0),
      h("div", { class: "fr-middle" },
        h("span", { class: "fr-duration", testid: "flight-duration" },
          formatDuration(flight.duration_min)),
        h("div", { class: flight.stops ? "fr-line with-stops" : "fr-line" }),
        h("span", { class: flight.stops ? "fr-stops has-stops" : "fr-stops", testid: "flight-stops" },
          formatStops(flight.stops)),
        flight.via.length
          ? h("span", { class: "fr-via", testid: "flight-via" },
            t("results.via", { places: flight.via.join(", ") }))
          : null),
      timePoint(flight.arrive, flight.to, "flight-arrive", flight.arrive_day_offset)),
    h("div", { class: "fr-price" },
      h("span", { class: "price", testid: "flight-price" }, formatPrice(flight.price)),
      h("span", { class: "fr-per" }, t("results.perPerson")),
      flight.seats_left <= 9
        ? h("span", { class: "fr-seats" }, t("results.seatsLeft", { n: flight.seats_left }))
        : null),
    h("div", { class: "fr-actions" },
      h("button", {
        type: "button", class: "button button-secondary", testid: "flight-details",
        onclick: () => ctx.navigate(detailsUrl(flight)),
      }, t("results.details")),
      h("button", {
        type: "button", class: "button button-primary", testid: "select-flight",
        onclick: () => choose(flight),
      }, t("results.select"))));
  }

  function noResults() {
    let message = t("results.noResults");
    let hint = t("results.noResultsHint");
    if (data && data.total === 0) {
      hint = null;
      const unknown = [leg.from, leg.to].find((c) => !CONFIG.airports.some((a) => a.code === c));
      if (unknown) message = t("results.unknownAirport", { code: unknown });
      else if (leg.date < CONFIG.first_date || leg.date > CONFIG.last_date) {
        message = t("results.noRouteDate", { first: CONFIG.first_date, last: CONFIG.last_date });
      } else if (CONFIG.airports.find((a) => a.code === leg.from).city_en ===
        CONFIG.airports.find((a) => a.code === leg.to).city_en) {
        message = t("results.noRouteSameCity");
      } else message = t("results.noRoute");
    }
    return h("div", { class: "card notice", testid: "no-results" },
      h("p", { class: "notice-title" }, message),
      hint ? h("p", null, hint) : null,
      hasFilters(s)
        ? h("button", {
          type: "button", class: "button button-secondary", testid: "no-results-reset",
          onclick: () => {
            update({ nonstop: false, airlines: [], times: [], minPrice: null, maxPrice: null });
            render();
          },
        }, t("results.clearFilters"))
        : h("a", { class: "button button-secondary", href: "/" }, t("results.newSearch")));
  }

  function sortBar() {
    return h("div", { class: "sort-bar", role: "group", "aria-label": t("results.sortBy") },
      h("span", { class: "sort-label" }, t("results.sortBy")),
      SORTS.map((key) => h("button", {
        type: "button",
        class: s.sort === key ? "sort-button active" : "sort-button",
        testid: `sort-${key}`,
        "aria-pressed": s.sort === key ? "true" : "false",
        onclick: () => update({ sort: key, sortInUrl: true }),
      }, t(`results.sort.${key}`))));
  }

  function selectedOutbound() {
    if (!returnLeg || !outbound) return null;
    const back = resultsUrl({
      ...s, out: "", nonstop: false, airlines: [], times: [], minPrice: null, maxPrice: null,
    });
    return h("div", { class: "card selected-outbound", testid: "selected-outbound" },
      h("div", { class: "selected-title" }, t("results.selectedOutbound")),
      h("div", { class: "selected-body" },
        `${outbound.flight_no} · ${airlineName(outbound.airline)} · ${formatDate(outbound.date)} ` +
        `${outbound.depart}–${outbound.arrive} · ${formatPrice(outbound.price)}`),
      h("a", { class: "link-button", href: back, testid: "change-outbound" },
        t("results.change")));
  }

  function listContent() {
    if (loadError) return errorBox(t("common.error", { message: loadError.message }), "results-error");
    if (!data) return h("div", { class: "card notice" }, t("results.loading"));
    return [
      h("div", { class: "list-head" },
        h("div", { class: "list-title" },
          h("span", { class: "leg-badge", testid: "leg-label" },
            t(returnLeg ? "results.return" : "results.outbound")),
          h("span", { class: "results-count", testid: "results-count" },
            plural("results.count", data.count)),
          data.count !== data.total
            ? h("span", { class: "results-total" }, t("results.of", { n: data.total }))
            : null),
        sortBar()),
      data.count
        ? h("div", { class: "flight-list" }, data.flights.map(row))
        : noResults(),
    ];
  }

  function renderList() {
    if (listArea) replaceChildren(listArea, listContent());
  }

  function render() {
    ctx.setTitle(t("title.results", { from: leg.from, to: leg.to }));
    if (!complete) {
      replaceChildren(root, h("div", { class: "container page" },
        errorBox(t("results.badSearch"), "page-error",
          h("a", { class: "button button-primary", href: "/" }, t("results.newSearch")))));
      return;
    }
    listArea = h("div", { class: "results-main" }, listContent());
    const promo = promoBanner();
    replaceChildren(root,
      summaryBar(),
      promo ? h("div", { class: "container results-promo" }, promo) : null,
      h("div", { class: "container results-layout" },
        facets ? filters() : h("aside", { class: "card filters" }),
        h("div", { class: "results-column" }, selectedOutbound(), listArea)));
  }

  render();
  if (complete) {
    rememberResults(resultsUrl(s));
    load().then(() => {
      if (ctx.isCurrent()) render();
    });
  }
  return { render };
}
