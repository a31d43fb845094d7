import { render } from 'preact';
import { App } from './App';
import { lookupFrom } from './lookup';
import { readSettings } from './settings';
import './panel.css';

render(<App settings={readSettings(document)} lookup={lookupFrom(location.search)} />, document.getElementById('app')!);
