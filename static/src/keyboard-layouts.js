// Where each character sits on the guest's keyboard, for "paste as keystrokes": QEMU's
// VNC server passes physical keys (KeyboardEvent.code) to the guest, whose own layout turns
// them into characters, so pasting into a German guest must press Y for "z".
//
// A layout lists, row by row (the codes in ROWS), the characters of each key plain, with
// Shift, with AltGr and with AltGr+Shift; "\0" is a key that types nothing there. Dead keys (a character
// that waits for the next one, as ^ on a German keyboard) are followed by a space.

const ROWS = [
  ["Backquote", "Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8", "Digit9", "Digit0", "Minus", "Equal"],
  ["KeyQ", "KeyW", "KeyE", "KeyR", "KeyT", "KeyY", "KeyU", "KeyI", "KeyO", "KeyP", "BracketLeft", "BracketRight"],
  ["KeyA", "KeyS", "KeyD", "KeyF", "KeyG", "KeyH", "KeyJ", "KeyK", "KeyL", "Semicolon", "Quote", "Backslash"],
  ["IntlBackslash", "KeyZ", "KeyX", "KeyC", "KeyV", "KeyB", "KeyN", "KeyM", "Comma", "Period", "Slash"],
];

const N = "\0";

export const LAYOUTS = {
  us: {
    label: "US",
    plain: ["`1234567890-=", "qwertyuiop[]", "asdfghjkl;'\\", `${N}zxcvbnm,./`],
    shift: ["~!@#$%^&*()_+", "QWERTYUIOP{}", 'ASDFGHJKL:"|', `${N}ZXCVBNM<>?`],
    altgr: [],
    altgrShift: [],
    dead: "",
  },
  gb: {
    label: "UK",
    plain: ["`1234567890-=", "qwertyuiop[]", "asdfghjkl;'#", "\\zxcvbnm,./"],
    shift: ['¬!"£$%^&*()_+', "QWERTYUIOP{}", "ASDFGHJKL:@~", "|ZXCVBNM<>?"],
    altgr: [`¦${N}${N}${N}€`],
    altgrShift: [],
    dead: "",
  },
  de: {
    label: "German",
    plain: ["^1234567890ß´", "qwertzuiopü+", "asdfghjklöä#", "<yxcvbnm,.-"],
    shift: ['°!"§$%&/()=?`', "QWERTZUIOPÜ*", "ASDFGHJKLÖÄ'", ">YXCVBNM;:_"],
    altgr: [`${N}${N}²³${N}${N}${N}{[]}\\`, `@${N}€${N}${N}${N}${N}${N}${N}${N}${N}~`, "", `|${N}${N}${N}${N}${N}${N}µ`],
    altgrShift: [],
    dead: "^´`",
  },
  fr: {
    label: "French",
    plain: ["²&é\"'(-è_çà)=", "azertyuiop^$", "qsdfghjklmù*", "<wxcvbn,;:!"],
    shift: [`${N}1234567890°+`, "AZERTYUIOP¨£", "QSDFGHJKLM%µ", ">WXCVBN?./§"],
    altgr: [`${N}${N}~#{[|\`\\^@]}`, `${N}${N}€${N}${N}${N}${N}${N}${N}${N}${N}¤`],
    altgrShift: [],
    dead: "^¨",
  },
  es: {
    label: "Spanish",
    plain: ["º1234567890'¡", "qwertyuiop`+", "asdfghjklñ´ç", "<zxcvbnm,.-"],
    shift: ['ª!"·$%&/()=?¿', "QWERTYUIOP^*", "ASDFGHJKLѨÇ", ">ZXCVBNM;:_"],
    altgr: ["\\|@#~€¬", `${N}${N}€${N}${N}${N}${N}${N}${N}${N}[]`, `${N}${N}${N}${N}${N}${N}${N}${N}${N}${N}{}`],
    altgrShift: [],
    dead: "`^´¨",
  },
  it: {
    label: "Italian",
    plain: ["\\1234567890'ì", "qwertyuiopè+", "asdfghjklòàù", "<zxcvbnm,.-"],
    shift: ['|!"£$%&/()=?^', "QWERTYUIOPé*", "ASDFGHJKLç°§", ">ZXCVBNM;:_"],
    altgr: [`${N}${N}${N}${N}${N}${N}${N}${N}${N}${N}${N}\`~`, `${N}${N}€${N}${N}${N}${N}${N}${N}${N}[]`, `${N}${N}${N}${N}${N}${N}${N}${N}${N}@#`],
    altgrShift: ["", `${N}${N}${N}${N}${N}${N}${N}${N}${N}${N}{}`],
    dead: "",
  },
};

const SPECIAL = { "\n": "Enter", "\t": "Tab", " ": "Space" };

function index(layout) {
  const keys = new Map();
  const add = (rows, modifier) => rows.forEach((row, r) => [...row].forEach((char, k) => {
    if (char !== N && ROWS[r][k] && !keys.has(char)) keys.set(char, { code: ROWS[r][k], modifier });
  }));
  add(layout.plain, null);
  add(layout.shift, "shift");
  add(layout.altgr, "altgr");
  add(layout.altgrShift, "altgr-shift");
  return keys;
}

const INDEXES = Object.fromEntries(Object.entries(LAYOUTS).map(([name, layout]) => [name, index(layout)]));

// {code, modifier: null | "shift" | "altgr" | "altgr-shift", dead} for char on the layout, or null when the
// layout has no key for it.
export function keyFor(char, layoutName) {
  if (SPECIAL[char]) return { code: SPECIAL[char], modifier: null, dead: false };
  const key = INDEXES[layoutName]?.get(char);
  return key ? { ...key, dead: LAYOUTS[layoutName].dead.includes(char) } : null;
}
