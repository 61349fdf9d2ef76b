// The home page: the search form (trip type, airports, dates, passengers, cabin).

import { h, replaceChildren } from "./dom.js";
import {
  addDays,
  airportLabel,
  cabinName,
  cityName,
  formatWeekday,
  parseISO,
  t,
} from "./i18n.js";
import { promoBanner } from "./shared.js";
import { buildQuery } from "./urls.js";
import { airportField, dateField, dropdown, resolveAirport, stepper } from "./widgets.js";

const CONFIG = window.FLIGHTS_CONFIG;
export const DEFAULT_DATE = addDays(CONFIG.today, 7);
const POPULAR = [["PEK", "SHA"], ["CAN", "CTU"], ["SZX", "HGH"], ["PVG", "NRT"], ["XIY", "KMG"],
  ["SHA", "HKG"]];

/** The form's state; module-level so it survives moving between pages of one visit. */
export const form = {
  trip: "oneway",
  from: { code: null, text: "" },
  to: { code: null, text: "" },
  date: DEFAULT_DATE,
  ret: "",
  pax: 1,
  cabin: "economy",
  error: null, // [key, vars]
};

function validDate(iso, low, high) {
  return Boolean(parseISO(iso)) && iso >= low && iso <= high;
}

function defaultReturn() {
  const base = validDate(form.date, CONFIG.first_date, CONFIG.last_date) ? form.date : DEFAULT_DATE;
  const ret = addDays(base, 3);
  return ret > CONFIG.last_date ? CONFIG.last_date : ret;
}

/** Fill the form from a query (``/?from=PEK&to=SHA&date=…``: "Modify search"). */
function prefill(query) {
  if (![...query.keys()].length) return;
  for (const side of ["from", "to"]) {
    const code = (query.get(side) || "").toUpperCase();
    if (CONFIG.airports.some((a) => a.code === code)) form[side] = { code, text: "" };
  }
  if (query.get("date")) form.date = query.get("date");
  form.trip = query.get("trip") === "round" ? "round" : "oneway";
  form.ret = query.get("ret") || (form.trip === "round" ? defaultReturn() : "");
  const pax = Number(query.get("pax"));
  if (Number.isInteger(pax) && pax >= 1 && pax <= CONFIG.max_passengers) form.pax = pax;
  if (CONFIG.cabins.includes(query.get("cabin"))) form.cabin = query.get("cabin");
  form.error = null;
}

/** The results URL for the form, or [errorKey, vars] when the form is not complete. */
function searchUrl() {
  const from = form.from.code || resolveAirport(form.from.text);
  const to = form.to.code || resolveAirport(form.to.text);
  if (!from) return ["search.error.from", {}];
  if (!to) return ["search.error.to", {}];
  if (from === to) return ["search.error.same", {}];
  if (!validDate(form.date, CONFIG.first_date, CONFIG.last_date)) {
    return ["search.error.date", { first: CONFIG.first_date, last: CONFIG.last_date }];
  }
  if (form.trip === "round" && !validDate(form.ret, form.date, CONFIG.last_date)) {
    return ["search.error.ret", { last: CONFIG.last_date }];
  }
  return `/search?${buildQuery([["trip", form.trip], ["from", from], ["to", to],
    ["date", form.date], ["pax", form.pax], ["cabin", form.cabin],
    ["ret", form.trip === "round" ? form.ret : ""]])}`;
}

export function mount(ctx) {
  prefill(ctx.query);
  const root = ctx.root;

  function setTrip(trip) {
    form.trip = trip;
    if (trip === "round" && !validDate(form.ret, form.date, CONFIG.last_date)) {
      form.ret = defaultReturn();
    }
    form.error = null;
    render();
  }

  function submit(event) {
    if (event) event.preventDefault();
    const target = searchUrl();
    if (Array.isArray(target)) {
      form.error = target;
      render();
      return;
    }
    form.error = null;
    ctx.navigate(target);
  }

  function searchCard() {
    const tripButton = (trip, key) =>
      h("button", {
        type: "button",
        class: form.trip === trip ? "segment active" : "segment",
        testid: `trip-${trip}`,
        "aria-pressed": form.trip === trip ? "true" : "false",
        onclick: () => setTrip(trip),
      }, t(key));

    const dateInput = dateField({
      id: "date",
      testid: "date-input",
      label: t("search.depart"),
      value: () => form.date,
      min: () => CONFIG.first_date,
      max: () => CONFIG.last_date,
      hint: formatWeekday(form.date),
      onPick: (iso) => {
        form.date = iso;
        if (form.trip === "round" && !(form.ret >= iso)) form.ret = defaultReturn();
        form.error = null;
        render();
      },
      onType: (text, commit) => {
        form.date = text.trim();
        if (commit) render();
      },
    });
    const returnInput = form.trip === "round"
      ? dateField({
        id: "return-date",
        testid: "return-date-input",
        label: t("search.return"),
        value: () => form.ret,
        min: () => (validDate(form.date, CONFIG.first_date, CONFIG.last_date)
          ? form.date : CONFIG.first_date),
        max: () => CONFIG.last_date,
        hint: formatWeekday(form.ret),
        onPick: (iso) => {
          form.ret = iso;
          form.error = null;
          render();
        },
        onType: (text, commit) => {
          form.ret = text.trim();
          if (commit) render();
        },
      })
      : null;

    return h("form", { class: "card search-card", autocomplete: "off", onsubmit: submit,
      novalidate: true },
    h("div", { class: "search-options" },
      h("div", { class: "segmented", role: "group", "aria-label": t("search.oneway") },
        tripButton("oneway", "search.oneway"), tripButton("round", "search.round")),
      h("div", { class: "search-options-right" },
        stepper({
          label: t("search.passengers"),
          value: form.pax,
          min: 1,
          max: CONFIG.max_passengers,
          testids: { minus: "pax-minus", count: "pax-count", plus: "pax-plus" },
          onChange: (n) => {
            form.pax = n;
            render();
          },
        }),
        dropdown({
          id: "cabin",
          testid: "cabin-toggle",
          optionTestid: (v) => `cabin-option-${v}`,
          label: t("search.cabin"),
          options: CONFIG.cabins.map((c) => [c, cabinName(c)]),
          value: form.cabin,
          onPick: (cabin) => {
            form.cabin = cabin;
            render();
          },
        }))),
    h("div", { class: form.trip === "round" ? "search-fields round" : "search-fields" },
      airportField({ id: "from", testid: "from-input", label: t("search.from"), slot: form.from }),
      h("button", {
        type: "button",
        class: "swap-button",
        testid: "swap-airports",
        title: t("search.swap"),
        "aria-label": t("search.swap"),
        onclick: () => {
          [form.from, form.to] = [form.to, form.from];
          render();
        },
      }, "⇄"),
      airportField({ id: "to", testid: "to-input", label: t("search.to"), slot: form.to }),
      dateInput,
      returnInput,
      h("button", { type: "submit", id: "search-btn", class: "button button-primary search-button",
        testid: "search-button" }, t("search.button"))),
    form.error
      ? h("p", { class: "form-error", testid: "form-error", role: "alert" },
        t(form.error[0], form.error[1]))
      : null);
  }

  function popular() {
    return h("section", { class: "container section" },
      h("h2", { class: "section-title" }, t("home.popular")),
      h("div", { class: "popular-grid" }, POPULAR.map(([from, to]) => {
        const query = buildQuery([["trip", "oneway"], ["from", from], ["to", to],
          ["date", DEFAULT_DATE], ["pax", 1], ["cabin", "economy"]]);
        return h("a", { class: "card popular-card", href: `/search?${query}`,
          testid: `popular-${from}-${to}` },
        h("div", { class: "popular-cities" }, `${cityName(from)} → ${cityName(to)}`),
        h("div", { class: "popular-airports" }, `${airportLabel(from)} – ${airportLabel(to)}`));
      })),
      h("div", { class: "why-grid" }, [1, 2, 3].map((n) =>
        h("div", { class: "why" },
          h("div", { class: "why-title" }, t(`home.why${n}.title`)),
          h("p", null, t(`home.why${n}.text`))))));
  }

  function render() {
    ctx.setTitle(t("title.home"));
    replaceChildren(root,
      h("section", { class: "hero" },
        h("div", { class: "container" },
          h("h1", { class: "hero-title" }, t("home.heading")),
          h("p", { class: "hero-subtitle" }, t("home.subheading")),
          searchCard(),
          promoBanner())),
      popular());
  }

  render();
  return { render };
}
