// The page's Content-Security-Policy nonce (base.html's <meta name="csp-nonce">): the policy
// applies a <style> element only if it carries it (docs/security.md).
export const nonce = document.querySelector("meta[name=csp-nonce]")?.nonce || "";

// For libraries that add <style> elements and take no nonce (xterm.js): every <style> this
// document creates from now on carries it.
export function nonceEveryStyle() {
  const createElement = document.createElement.bind(document);
  document.createElement = (name, options) => {
    const element = createElement(name, options);
    if (String(name).toLowerCase() === "style") element.nonce = nonce;
    return element;
  };
}
