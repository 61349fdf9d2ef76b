// SkyFinder: flight data generated from a fixed seed, so every run sees the same flights.
const AIRPORTS = [
  ["PEK", "Beijing Capital", "北京首都"], ["PKX", "Beijing Daxing", "北京大兴"],
  ["SHA", "Shanghai Hongqiao", "上海虹桥"], ["PVG", "Shanghai Pudong", "上海浦东"],
  ["CAN", "Guangzhou Baiyun", "广州白云"], ["SZX", "Shenzhen Bao'an", "深圳宝安"],
  ["CTU", "Chengdu Tianfu", "成都天府"], ["HGH", "Hangzhou Xiaoshan", "杭州萧山"],
  ["HKG", "Hong Kong", "香港"], ["NRT", "Tokyo Narita", "东京成田"],
  ["SIN", "Singapore Changi", "新加坡樟宜"], ["LHR", "London Heathrow", "伦敦希思罗"],
  ["FRA", "Frankfurt", "法兰克福"], ["JFK", "New York JFK", "纽约肯尼迪"],
];
const AIRLINES = [["CA", "Air China"], ["MU", "China Eastern"], ["CZ", "China Southern"],
  ["HU", "Hainan Airlines"], ["FM", "Shanghai Airlines"]];

function rng(seed) {  // mulberry32
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function hash(text) { let h = 2166136261; for (const c of text) h = Math.imul(h ^ c.codePointAt(0), 16777619); return h >>> 0; }
function findAirport(text) {
  const q = text.trim().toLowerCase();
  return AIRPORTS.find(([code, en, zh]) => q && (code.toLowerCase() === q || en.toLowerCase() === q || zh === q
    || `${en} (${code})`.toLowerCase() === q || en.toLowerCase().startsWith(q) || zh.startsWith(q)));
}
function pad(n) { return String(n).padStart(2, "0"); }
function flightsFor(from, to, date) {
  const r = rng(hash(`${from}-${to}-${date}`));
  const out = [];
  for (let i = 0; i < 12; i++) {
    const [code, name] = AIRLINES[Math.floor(r() * AIRLINES.length)];
    const dep = 360 + Math.floor(r() * 900);
    const dur = 110 + Math.floor(r() * 120);
    out.push({ number: `${code}${1000 + Math.floor(r() * 8999)}`, airline: name,
      dep: `${pad(Math.floor(dep / 60))}:${pad(dep % 60)}`,
      arr: `${pad(Math.floor((dep + dur) / 60) % 24)}:${pad((dep + dur) % 60)}`,
      duration: `${Math.floor(dur / 60)}h ${pad(dur % 60)}m`, price: 420 + Math.floor(r() * 1800) });
  }
  return out.sort((a, b) => a.price - b.price);
}

const list = document.getElementById("airports");
for (const [code, en, zh] of AIRPORTS) {
  for (const label of [`${en} (${code})`, `${zh} ${code}`]) {
    const opt = document.createElement("option"); opt.value = label; list.appendChild(opt);
  }
}
document.getElementById("date").value = "2026-12-01";

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const from = findAirport(document.getElementById("from").value);
  const to = findAirport(document.getElementById("to").value);
  const date = document.getElementById("date").value;
  const error = document.getElementById("form-error");
  if (!from || !to || from === to) {
    error.textContent = !from ? "Unknown departure airport." : !to ? "Unknown arrival airport." : "Departure and arrival must differ.";
    error.hidden = false; return;
  }
  error.hidden = true;
  const flights = flightsFor(from[0], to[0], date);
  document.getElementById("results-title").textContent = `${flights.length} flights ${from[1]} (${from[0]}) → ${to[1]} (${to[0]}), ${date}`;
  const ol = document.getElementById("flight-list"); ol.innerHTML = "";
  for (const f of flights) {
    const li = document.createElement("li"); li.className = "flight";
    li.innerHTML = `<div class="times">${f.dep} → ${f.arr}</div><div>${f.airline} ${f.number} · ${f.duration} · nonstop</div>` +
      `<div class="price">¥${f.price}</div><button type="button">Select</button>`;
    li.querySelector("button").addEventListener("click", () => {
      document.getElementById("confirmation").hidden = false;
      document.getElementById("confirmation-text").textContent = `${f.airline} ${f.number}, ${date} ${f.dep}, ¥${f.price}`;
      document.body.dataset.selected = f.number;
      document.getElementById("confirmation").scrollIntoView();
    });
    ol.appendChild(li);
  }
  document.getElementById("results").hidden = false;
  document.getElementById("confirmation").hidden = true;
});
