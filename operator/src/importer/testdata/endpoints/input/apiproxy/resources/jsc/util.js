// Included before hello.js (IncludeURL): its functions are globals of the script.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
function greet(greeting, name) {
  return greeting + ', ' + (name || 'world');
}
