// A JavaScript policy's script: inlined by the importer, after the include it names. Its globals are
// Apigee's object model and the include's function.
/* global context, properties, greet */
context.setVariable('hello.message', greet(properties.greeting, context.getVariable('request.queryparam.name')));
