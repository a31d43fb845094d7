import { loadPlugin } from '@twilio/flex-plugin';
import CustomerContextPlugin from './CustomerContextPlugin';

// How every Flex plugin bundle starts: hand the class to Flex (Twilio.Flex.Plugins.init), which
// creates it and calls init(flex, manager) once the agent is signed in.
loadPlugin(CustomerContextPlugin);
