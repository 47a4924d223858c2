// Types of require('hotpath/ua-parser-js'): ua-parser-js 1.x's interface
// over hotpath's parser (docs/ua.md).

declare namespace UAParser {
  interface IBrowser {
    name: string | undefined;
    version: string | undefined;
    /** The digits before the first '.' of version. */
    major: string | undefined;
  }
  interface IEngine {
    name: string | undefined;
    version: string | undefined;
  }
  interface IOS {
    name: string | undefined;
    version: string | undefined;
  }
  interface IDevice {
    vendor: string | undefined;
    model: string | undefined;
    /** undefined for desktops and bots, as ua-parser-js leaves them. */
    type: 'mobile' | 'tablet' | 'smarttv' | 'console' | 'wearable' | 'embedded' | undefined;
  }
  interface ICPU {
    architecture: string | undefined;
  }
  interface IResult {
    ua: string;
    browser: IBrowser;
    engine: IEngine;
    os: IOS;
    device: IDevice;
    cpu: ICPU;
  }
  interface UAParserInstance {
    getBrowser(): IBrowser;
    getEngine(): IEngine;
    getOS(): IOS;
    getDevice(): IDevice;
    getCPU(): ICPU;
    getResult(): IResult;
    getUA(): string;
    /** Strings over 500 characters lose leading white space and are cut to 500. */
    setUA(uastring: string): UAParserInstance;
  }
}

interface UAParserStatic {
  new (uastring?: string): UAParser.UAParserInstance;
  (uastring?: string): UAParser.IResult;
  /** The ua-parser-js release whose rules hotpath's tables hold. */
  readonly VERSION: string;
  readonly BROWSER: { NAME: 'name'; VERSION: 'version'; MAJOR: 'major' };
  readonly CPU: { ARCHITECTURE: 'architecture' };
  readonly DEVICE: {
    MODEL: 'model';
    VENDOR: 'vendor';
    TYPE: 'type';
    CONSOLE: 'console';
    MOBILE: 'mobile';
    SMARTTV: 'smarttv';
    TABLET: 'tablet';
    WEARABLE: 'wearable';
    EMBEDDED: 'embedded';
  };
  readonly ENGINE: { NAME: 'name'; VERSION: 'version' };
  readonly OS: { NAME: 'name'; VERSION: 'version' };
  readonly UAParser: UAParserStatic;
  /** Whether isbot's patterns flag the string as a bot. */
  isBot(uastring: string): boolean;
}

declare const UAParser: UAParserStatic;
export = UAParser;
