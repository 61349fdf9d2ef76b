// Small pieces of UI that several pages show.

import { h } from "./dom.js";
import { airlineName, airportLabel, formatDate } from "./i18n.js";

export function airlineLogo(code) {
  return h("span", { class: `airline-logo airline-${code}`, "aria-hidden": "true" }, code);
}

/** "Beijing Capital (PEK) → Shanghai Hongqiao (SHA)". */
export function routeText(from, to, arrow = "→") {
  return `${airportLabel(from)} ${arrow} ${airportLabel(to)}`;
}

/** "CA1007 · Air China · Thu, Dec 3, 2026 · 14:20–16:20" (+1 when it lands the next day). */
export function flightLine(flight) {
  const arrive = flight.arrive + (flight.arrive_day_offset ? ` (+${flight.arrive_day_offset})` : "");
  return [flight.flight_no, airlineName(flight.airline), formatDate(flight.date),
    `${flight.depart}–${arrive}`].join(" · ");
}

/**
 * The promotional banner ("special offer") when the server was given one
 * (``FLIGHTS_CONFIG.promo``; none by default). Its texts are content, shown as written.
 * The link is a plain link, the form a plain HTML form (submitted by its button or Enter),
 * the button navigates from script.
 */
export function promoBanner() {
  const promo = window.FLIGHTS_CONFIG.promo;
  if (!promo) return null;
  const { link, form, button } = promo;
  const fieldId = "promo-field";
  return h("aside", { class: "promo", testid: "promo", "aria-label": promo.title },
    h("div", { class: "promo-body" },
      h("div", { class: "promo-title", testid: "promo-title" }, promo.title),
      h("p", { class: "promo-text", testid: "promo-text" }, promo.text),
      link ? h("a", { class: "promo-link", href: link.href, testid: "promo-link" }, link.text)
        : null),
    form || button
      ? h("div", { class: "promo-actions" },
        form
          ? h("form", { class: "promo-form", action: form.action, method: form.method,
            testid: "promo-form" },
          h("label", { class: "promo-label", for: fieldId }, form.label),
          h("div", { class: "promo-row" },
            h("input", { id: fieldId, class: "input input-small promo-input", name: form.name,
              type: "text", placeholder: form.placeholder || null, autocomplete: "off",
              testid: "promo-input" }),
            h("button", { type: "submit", class: "button button-accent",
              testid: "promo-submit" }, form.button)))
          : null,
        button
          ? h("button", { type: "button", class: "button button-light promo-button",
            testid: "promo-button",
            onclick: () => {
              window.location.href = button.href;
            } }, button.text)
          : null)
      : null);
}
